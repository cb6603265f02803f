// 4. The client-value deciles (GET /api/reports/deciles): clients ranked by the profit they
// bring, cut into ten equal groups; per decile its share of profit and of volume as bars, and
// the cumulative share of profit as a line: the "about 20% of clients bring about 80% of the
// profit" picture, read off decile 2. Formulas: docs/metrics.md, 2.1.

import { get, query } from "../../js/api.js";
import { $, el, replace } from "../../js/dom.js";
import { t } from "../../js/i18n.js";
import { barLineChart, legend, widthOf } from "./chart.js";
import { count, percent, yuan } from "./figures.js";
import { Loader, csvLink, lastMonth } from "./section.js";
import { fillTable } from "./table.js";

const loader = new Loader("deciles");
const CHART_HEIGHT = 280;
let report = null;

function drawChart() {
  const container = $("deciles-chart");
  const bars = [
    { key: "contribution_share", label: t("rep.d.contribution_share"), cls: "series-profit" },
    { key: "turnover_share", label: t("rep.d.turnover_share"), cls: "series-volume" },
  ];
  const lines = [
    { key: "cumulative_contribution_share", label: t("rep.d.cumulative_contribution_share"), cls: "series-cumulative", format: percent },
    { key: "cumulative_turnover_share", label: t("rep.d.cumulative_turnover_share"), cls: "series-cumulative-volume", format: percent },
  ];
  replace($("deciles-legend"), legend([...bars, ...lines.map((l) => ({ ...l, kind: "line" }))]));
  if (!report.clients) {
    replace(container, el("p", { class: "muted" }, t("rep.no_data")));
    return;
  }
  const groups = report.deciles.map((d) => ({
    key: String(d.decile),
    label: t("rep.d.decile_n", { n: d.decile }),
    title: t("rep.d.bar_title", {
      n: d.decile,
      clients: count(d.clients),
      profit: percent(d.contribution_share),
      volume: percent(d.turnover_share),
      cumulative: percent(d.cumulative_contribution_share),
    }),
    values: { contribution_share: d.contribution_share, turnover_share: d.turnover_share },
    points: { cumulative_contribution_share: d.cumulative_contribution_share, cumulative_turnover_share: d.cumulative_turnover_share },
  }));
  const percentAxis = (v) => `${Math.round(v * 100)}%`;
  replace(
    container,
    barLineChart({
      label: t("rep.deciles.chart"),
      width: widthOf(container),
      height: CHART_HEIGHT,
      groups,
      bars,
      lines,
      // One scale for bars and lines: both are shares of the same whole.
      left: { max: 1, step: 0.2, fixed: true, format: percentAxis },
      right: null,
      target: null,
    }),
  );
}

function drawHeadline() {
  const top = report.deciles[1];
  replace(
    $("deciles-headline"),
    report.clients && top
      ? t("rep.d.headline", {
          clients: percent(top.cumulative_client_share),
          profit: percent(top.cumulative_contribution_share),
          volume: percent(top.cumulative_turnover_share),
        })
      : "",
  );
}

function drawTable() {
  const num = (key, format) => ({ key, label: t(`rep.d.${key}`), format, num: true });
  const columns = [
    num("decile", (n) => t("rep.d.decile_n", { n })),
    num("clients", count),
    num("contribution_fen", yuan),
    num("contribution_share", percent),
    num("cumulative_contribution_share", percent),
    num("turnover_fen", yuan),
    num("turnover_share", percent),
    num("cumulative_turnover_share", percent),
    num("cumulative_client_share", percent),
  ];
  const total = {
    decile: null,
    clients: report.clients,
    contribution_fen: report.contribution_fen,
    turnover_fen: report.turnover_fen,
    __key: "total",
  };
  columns[0] = { ...columns[0], num: false, format: (n) => (n === null ? t("rep.total") : t("rep.d.decile_n", { n })) };
  fillTable($("deciles"), columns, report.deciles.map((d) => ({ ...d, __key: String(d.decile) })), total);
}

export const deciles = {
  page: "deciles",
  defaults: () => ({ period: lastMonth() }),
  async load(params) {
    const asked = { period: params.period, to: params.to };
    csvLink("deciles-csv", "/reports/deciles", asked);
    const data = await loader.run(query(asked), () => get(`/reports/deciles${query(asked)}`));
    if (!data) return;
    report = data;
    this.render();
  },
  render() {
    if (!report) return;
    drawHeadline();
    drawChart();
    drawTable();
  },
};
