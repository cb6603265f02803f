// 1. Call figures (GET /api/reports/calls): the range's totals, a chart of offered, answered
// and abandoned calls per interval with the service level against its target, the whole
// center per interval, and the rows by queue or by agent. Formulas: docs/metrics.md, 4.

import { get, query } from "../../js/api.js";
import { $, el, replace } from "../../js/dom.js";
import { t } from "../../js/i18n.js";
import { barLineChart, legend, widthOf } from "./chart.js";
import { count, hours, intervalLabel, minutes, percent, seconds } from "./figures.js";
import { Loader, csvLink, today } from "./section.js";
import { fillTable, tiles } from "./table.js";

const SL_TARGET = 0.8; // the center's goal: 80% answered within the queue's threshold
const MAX_SLOTS = 400; // beyond this the chart shows the listed intervals only
const CHART_HEIGHT = 260;
const loader = new Loader("calls");
let report = null;
let limits = []; // [{queue, seconds}]: the service-level thresholds the figures were judged by

const slClass = (row) =>
  row.service_level === null || row.service_level === undefined ? null : row.service_level >= SL_TARGET ? "good" : "alert";

/** The queues' thresholds: from the report's own rows, else from the stored queues. */
async function thresholds(body) {
  const seen = new Map();
  if (body.by === "queue") for (const row of body.rows) seen.set(row.queue, row.service_level_seconds);
  if (!seen.size) for (const q of await get("/queues")) seen.set(q.name, q.service_level_seconds);
  return [...seen].map(([queue, secs]) => ({ queue, seconds: secs })).sort((a, b) => a.queue.localeCompare(b.queue));
}

/** One key per interval from the first listed to the last (the API lists only intervals with
 * something in them; the chart shows the quiet ones as empty), on the center's wall clock. */
export function slotKeys(body) {
  const listed = body.intervals.map((row) => row.interval_start.slice(0, 16));
  if (listed.length < 2) return listed;
  const stepMs = body.interval === "day" ? 86_400_000 : Number(body.interval) * 60_000;
  const wall = (key) => Date.parse(`${key}:00Z`); // wall-clock time, read as if UTC
  const slots = Math.round((wall(listed.at(-1)) - wall(listed[0])) / stepMs) + 1;
  if (slots > MAX_SLOTS || slots < listed.length) return listed;
  return Array.from({ length: slots }, (_, i) => new Date(wall(listed[0]) + i * stepMs).toISOString().slice(0, 16));
}

/** "≤ 10 s", or with queues judged otherwise named: "≤ 10 s; trading ≤ 20 s". */
function targetLabel() {
  const byThreshold = new Map();
  for (const l of limits) byThreshold.set(l.seconds, [...(byThreshold.get(l.seconds) ?? []), l.queue]);
  const [common] = [...byThreshold].sort((a, b) => b[1].length - a[1].length || a[0] - b[0]);
  const within = common ? [t("rep.calls.within", { seconds: common[0] })] : [];
  for (const [secs, names] of byThreshold) {
    if (secs !== common[0]) within.push(`${names.join(", ")} ${t("rep.calls.within", { seconds: secs })}`);
  }
  return t("rep.calls.target", { target: percent(SL_TARGET), within: within.join("; ") });
}

function drawChart() {
  const container = $("calls-chart");
  const byKey = new Map(report.intervals.map((row) => [row.interval_start.slice(0, 16), row]));
  const manyDays = report.first !== report.last;
  const groups = slotKeys(report).map((key) => {
    const row = byKey.get(key);
    const label = intervalLabel(key, report.interval, manyDays);
    const v = { offered: row?.offered ?? 0, answered: row?.answered ?? 0, abandoned: row?.abandoned ?? 0 };
    return {
      key,
      label,
      title: t("rep.calls.bar_title", { label, ...v, sl: percent(row?.service_level) }),
      values: v,
      points: { service_level: row?.service_level ?? null },
    };
  });
  const bars = ["offered", "answered", "abandoned"].map((key) => ({ key, label: t(`rep.f.${key}`), cls: `series-${key}` }));
  const line = { key: "service_level", label: t("rep.f.service_level"), cls: "series-sl", format: percent };
  replace($("calls-legend"), legend([...bars, { ...line, kind: "line" }, { label: targetLabel(), cls: "series-target", kind: "line" }]));
  if (!groups.length) {
    replace(container, el("p", { class: "muted" }, t("rep.no_data")));
    return;
  }
  const top = Math.max(1, ...groups.map((g) => g.values.offered));
  replace(
    container,
    barLineChart({
      label: t("rep.calls.chart"),
      width: widthOf(container),
      height: CHART_HEIGHT,
      groups,
      bars,
      lines: [line],
      left: { max: top, integer: true, format: (v) => count(v) },
      right: { max: 1, step: 0.25, format: (v) => `${Math.round(v * 100)}%` },
      target: { value: SL_TARGET, label: targetLabel(), cls: "series-target" },
    }),
  );
}

function drawTiles() {
  const total = report.total;
  tiles($("calls-tiles"), [
    { key: "offered", label: t("rep.f.offered"), value: count(total.offered) },
    { key: "answered", label: t("rep.f.answered"), value: count(total.answered) },
    { key: "abandoned", label: t("rep.f.abandoned"), value: count(total.abandoned) },
    { key: "short_abandoned", label: t("rep.f.short_abandoned"), value: count(total.short_abandoned), hint: t("rep.hint.short_abandoned") },
    { key: "service_level", label: t("rep.f.service_level"), value: percent(total.service_level), cls: slClass(total), hint: targetLabel() },
    { key: "abandon_rate", label: t("rep.f.abandon_rate"), value: percent(total.abandon_rate), hint: t("rep.hint.abandon_rate") },
    { key: "asa_seconds", label: t("rep.f.asa_seconds"), value: seconds(total.asa_seconds) },
    { key: "aht_seconds", label: t("rep.f.aht_seconds"), value: minutes(total.aht_seconds), hint: t("rep.hint.aht") },
    { key: "occupancy", label: t("rep.f.occupancy"), value: occupancy(total.occupancy, total) },
    { key: "ivr_containment", label: t("rep.f.ivr_containment"), value: percent(total.ivr_containment) },
    { key: "fcr_rate", label: t("rep.f.fcr_rate"), value: percent(total.fcr_rate), hint: t("rep.hint.fcr") },
  ]);
}

/** Occupancy; where no agent was logged in at all (no agent-state data: a history imported
 * without the agents' states, say), that, rather than a dash that reads like a figure of 0. */
function occupancy(value, row) {
  if ((value ?? null) === null && row && !row.logged_in_seconds) return t("rep.no_state_data");
  return percent(value);
}

const col = (key, format, extra = {}) => ({ key, label: t(`rep.f.${key}`), format, num: true, ...extra });
const intervalColumn = () => ({
  key: "interval_start",
  label: t("rep.f.interval"),
  format: (value) => (value === null ? t("rep.total") : intervalLabel(value, report.interval, report.first !== report.last)),
});

function centerColumns() {
  return [
    intervalColumn(),
    col("offered", count),
    col("answered", count),
    col("abandoned", count),
    col("short_abandoned", count, { hint: t("rep.hint.short_abandoned") }),
    col("service_level", percent, { cls: slClass }),
    col("abandon_rate", percent),
    col("asa_seconds", seconds),
    col("aht_seconds", minutes),
    col("occupancy", occupancy),
    col("ivr_containment", percent),
    col("fcr_rate", percent),
  ];
}

function queueColumns() {
  return [
    intervalColumn(),
    { key: "queue", label: t("rep.f.queue") },
    col("offered", count),
    col("answered", count),
    col("abandoned", count),
    col("short_abandoned", count),
    col("to_ivr", count),
    col("overflowed_out", count),
    col("service_level", percent, { cls: slClass }),
    col("service_level_seconds", (v) => t("rep.calls.within", { seconds: v })),
    col("abandon_rate", percent),
    col("asa_seconds", seconds),
    col("aht_seconds", minutes),
    col("fcr_rate", percent),
  ];
}

function agentColumns() {
  return [
    intervalColumn(),
    { key: "agent_name", label: t("rep.f.agent"), value: (row) => row.agent_name ?? `#${row.agent_id}` },
    col("answered", count),
    col("handled", count),
    col("asa_seconds", seconds),
    col("aht_seconds", minutes),
    col("average_talk_seconds", minutes),
    col("average_hold_seconds", minutes),
    col("average_wrapup_seconds", minutes),
    col("fcr_rate", percent),
    col("logged_in_seconds", hours),
    col("occupancy", occupancy),
    col("missed", count),
  ];
}

function drawTables() {
  const keyed = (row) => ({ ...row, __key: row.interval_start.slice(0, 16) });
  fillTable($("calls-intervals"), centerColumns(), report.intervals.map(keyed), { ...report.total, interval_start: null, __key: "total" });
  const byQueue = report.by === "queue";
  replace($("calls-rows-title"), t(byQueue ? "rep.calls.by_queue" : "rep.calls.by_agent"));
  const rows = report.rows.map((row) => ({
    ...row,
    __key: `${row.interval_start.slice(0, 16)} ${byQueue ? row.queue : row.agent_id}`,
  }));
  fillTable($("calls-rows"), byQueue ? queueColumns() : agentColumns(), rows);
  const notes = [t("rep.calls.zone", { zone: report.timezone })];
  if (!report.fcr_final) notes.push(t("rep.calls.fcr_provisional"));
  replace($("calls-notes"), notes.join(" "));
}

export const calls = {
  page: "calls",
  defaults: () => ({ from: today(), to: today(), interval: "60", by: "queue" }),
  async load(params) {
    const asked = { from: params.from, to: params.to, interval: params.interval, by: params.by };
    csvLink("calls-csv", "/reports/calls", asked);
    const data = await loader.run(query(asked), async () => {
      const body = await get(`/reports/calls${query(asked)}`);
      return { body, limits: await thresholds(body) };
    });
    if (!data) return;
    report = data.body;
    limits = data.limits;
    this.render();
  },
  render() {
    if (!report) return;
    drawTiles();
    drawChart();
    drawTables();
  },
};
