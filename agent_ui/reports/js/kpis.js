// 3. The KPI scoreboard (GET /api/reports/kpis): per agent, advisor or branch, best score
// first, each component's figure and the points it earned (0..100 against the best in the
// list), and the score as a bar made of the four weighted parts (20:30:30:20 by default, as
// the report says). Formulas: docs/metrics.md, 3.

import { get, query } from "../../js/api.js";
import { $, el, replace } from "../../js/dom.js";
import { t } from "../../js/i18n.js";
import { legend, svg } from "./chart.js";
import { count, percent, points, yuan } from "./figures.js";
import { Loader, csvLink, lastMonth } from "./section.js";
import { fillTable } from "./table.js";

const loader = new Loader("kpis");
const BAR_WIDTH = 150;
// The components in the report's order: its weight's name, the points field, the figure.
const COMPONENTS = [
  { key: "new_clients", weight: "new_clients", points: "new_clients_points", figure: (r) => count(r.new_clients) },
  { key: "retention", weight: "retention", points: "retention_points", figure: (r) => percent(r.retention_rate) },
  { key: "upgrades", weight: "upgrades", points: "upgrade_points", figure: (r) => count(r.upgraded_clients) },
  { key: "profitability", weight: "profitability", points: "profitability_points", figure: (r) => yuan(r.average_contribution_fen) },
];
let report = null;

/** The score as four stacked parts, each weight × points / 100, on a 0..100 scale. */
function scoreBar(row, weights) {
  const bar = svg("svg", { class: "score-bar", width: BAR_WIDTH, height: 12, viewBox: `0 0 ${BAR_WIDTH} 12`, "aria-hidden": "true" });
  bar.append(svg("rect", { class: "meter-track", x: 0, y: 0, width: BAR_WIDTH, height: 12, rx: 2 }));
  let x = 0;
  for (const c of COMPONENTS) {
    const part = (weights[c.weight] * row[c.points]) / 100;
    const width = (part / 100) * BAR_WIDTH;
    bar.append(svg("rect", { class: `comp-${c.key}`, x: x.toFixed(2), y: 0, width: width.toFixed(2), height: 12, "data-part": part.toFixed(2) }, svg("title", {}, `${t(`rep.k.${c.key}`)}: ${points(part)}`)));
    x += width;
  }
  return bar;
}

function componentCell(row, c) {
  return [
    el("span", { class: "fig", "data-part": "figure" }, c.figure(row)),
    el("span", { class: "pts", "data-part": "points", title: t("rep.k.points") }, points(row[c.points])),
  ];
}

function draw() {
  const weights = report.weights;
  const rows = [...report.rows]
    .sort((a, b) => b.score - a.score || a.owner_id - b.owner_id)
    .map((row, index) => ({ ...row, rank: index + 1, __key: row.owner_id }));
  const columns = [
    { key: "rank", label: "#", num: true },
    { key: "owner_name", label: t(`rep.kpis.by.${report.by}`) },
    ...COMPONENTS.map((c) => ({
      key: c.key,
      label: t("rep.k.weighted", { name: t(`rep.k.${c.key}`), weight: weights[c.weight] }),
      num: true,
      value: (row) => row,
      format: (row) => componentCell(row, c),
    })),
    {
      key: "score",
      label: t("rep.k.score"),
      num: true,
      value: (row) => row,
      format: (row) => [scoreBar(row, weights), " ", el("strong", { "data-part": "score" }, points(row.score))],
    },
  ];
  fillTable($("kpis"), columns, rows);
  replace(
    $("kpis-legend"),
    legend(COMPONENTS.map((c) => ({ label: t("rep.k.weighted", { name: t(`rep.k.${c.key}`), weight: weights[c.weight] }), cls: `comp-${c.key}` }))),
  );
}

export const kpis = {
  page: "kpis",
  defaults: () => ({ period: lastMonth(), by: "advisor" }),
  async load(params) {
    const asked = { period: params.period, to: params.to, by: params.by };
    csvLink("kpis-csv", "/reports/kpis", asked);
    const data = await loader.run(query(asked), () => get(`/reports/kpis${query(asked)}`));
    if (!data) return;
    report = data;
    this.render();
  },
  render() {
    if (report) draw();
  },
};
