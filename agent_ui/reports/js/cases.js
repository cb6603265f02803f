// 2. Complaints by category with their time to close (GET /api/reports/complaints), and the
// follow-ups due by kind, return visits (回访) first, with their completion
// (GET /api/reports/follow-ups). Formulas: docs/metrics.md, 4.8 and 4.9.

import { get, query } from "../../js/api.js";
import { $, el } from "../../js/dom.js";
import { language, t, term } from "../../js/i18n.js";
import { svg } from "./chart.js";
import { count, duration, percent } from "./figures.js";
import { Loader, csvLink, daysAgo, today } from "./section.js";
import { fillTable } from "./table.js";

const loader = new Loader("cases");
let complaints = null;
let followUps = null;

function categoryName(row) {
  if (row.category_code === "*") return t("rep.total");
  const name = language() === "en" ? row.category_name_en ?? row.category_name : row.category_name ?? row.category_name_en;
  return name ?? row.category_code;
}

/** A bar from 0 to 100% for a rate, with the figure beside it. */
function meter(ratio) {
  const width = 80;
  const filled = ratio === null || ratio === undefined ? 0 : Math.max(0, Math.min(1, ratio)) * width;
  const bar = svg(
    "svg",
    { class: "meter", width, height: 10, viewBox: `0 0 ${width} 10`, "aria-hidden": "true" },
    svg("rect", { class: "meter-track", x: 0, y: 0, width, height: 10, rx: 2 }),
    svg("rect", { class: "meter-fill", x: 0, y: 0, width: filled.toFixed(1), height: 10, rx: 2 }),
  );
  return [el("span", { class: "fig" }, percent(ratio)), bar];
}

function drawComplaints() {
  const num = (key, format) => ({ key, label: t(`rep.c.${key}`), format, num: true });
  const columns = [
    { key: "category", label: t("rep.c.category"), value: categoryName },
    num("opened", count),
    num("closed", count),
    num("open", count),
    num("responded_on_time", count),
    num("responded_on_time_rate", percent),
    num("mean_seconds_to_close", duration),
    num("median_seconds_to_close", duration),
  ];
  const rows = complaints.categories.map((row) => ({ ...row, __key: row.category_code }));
  fillTable($("complaints"), columns, rows, { ...complaints.total, __key: "total" });
}

function drawFollowUps() {
  const num = (key, format) => ({ key, label: t(`rep.fu.${key}`), format, num: true });
  const columns = [
    { key: "kind", label: t("rep.fu.kind"), format: (kind) => (kind === null ? t("rep.total") : term("follow_up_kind", kind)) },
    num("due", count),
    num("done", count),
    num("done_on_time", count),
    num("cancelled", count),
    num("open", count),
    num("overdue", count),
    { ...num("completion_rate", meter), value: (row) => row.completion_rate },
    num("on_time_rate", percent),
  ];
  const rows = followUps.kinds.map((row) => ({ ...row, __key: row.kind }));
  fillTable($("follow-ups"), columns, rows, { ...followUps.total, __key: "total" });
}

export const cases = {
  page: "cases",
  defaults: () => ({ from: daysAgo(29), to: today() }),
  async load(params) {
    const asked = { from: params.from, to: params.to };
    csvLink("complaints-csv", "/reports/complaints", asked);
    csvLink("follow-ups-csv", "/reports/follow-ups", asked);
    const data = await loader.run(query(asked), () =>
      Promise.all([get(`/reports/complaints${query(asked)}`), get(`/reports/follow-ups${query(asked)}`)]),
    );
    if (!data) return;
    [complaints, followUps] = data;
    this.render();
  },
  render() {
    if (!complaints) return;
    drawComplaints();
    drawFollowUps();
  },
};
