// 5. The Erlang C calculator (GET /api/staffing/erlang-c): a forecast volume and handle time
// and a service-level target give the agents needed on the phones, with the service level,
// ASA and occupancy they reach. Targets are typed in percent, sent as shares (docs/metrics.md, 5).

import { get, query } from "../../js/api.js";
import { $ } from "../../js/dom.js";
import { t } from "../../js/i18n.js";
import { count, percent, seconds } from "./figures.js";
import { Loader } from "./section.js";
import { tiles } from "./table.js";

const loader = new Loader("staffing");
let result = null;

const share = (pct) => (pct === undefined || pct === "" ? undefined : Number(pct) / 100);

function draw() {
  const r = result;
  tiles($("staffing-result"), [
    { key: "agents", label: t("rep.s.agents"), value: count(r.agents), cls: "big" },
    { key: "service_level", label: t("rep.s.service_level", { seconds: r.target_seconds }), value: percent(r.service_level) },
    { key: "asa_seconds", label: t("rep.s.asa"), value: seconds(r.asa_seconds) },
    { key: "occupancy", label: t("rep.s.occupancy"), value: percent(r.occupancy) },
    { key: "traffic_erlangs", label: t("rep.s.traffic"), value: r.traffic_erlangs.toFixed(2) },
    { key: "probability_of_waiting", label: t("rep.s.wait"), value: percent(r.probability_of_waiting) },
  ]);
}

export const staffing = {
  page: "staffing",
  defaults: () => ({ volume: "100", interval_minutes: "30", aht_seconds: "180", target_service_level: "80", target_seconds: "10" }),
  async load(params) {
    const asked = {
      volume: params.volume,
      aht_seconds: params.aht_seconds,
      interval_minutes: params.interval_minutes,
      target_service_level: share(params.target_service_level),
      target_seconds: params.target_seconds,
      max_occupancy: share(params.max_occupancy),
    };
    const data = await loader.run(query(asked), () => get(`/staffing/erlang-c${query(asked)}`));
    if (!data) return;
    [result] = data.intervals;
    this.render();
  },
  render() {
    if (result) draw();
  },
};
