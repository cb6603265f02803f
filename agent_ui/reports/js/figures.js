// How the reports show their figures: one formatter per kind of value, so the same figure
// reads the same in every table, tile and chart (the browser test formats them the same way).

import { language, t } from "../../js/i18n.js";

export const DASH = "–";
const missing = (value) => value === null || value === undefined;

/** A count, grouped by thousands in the page's language. */
export function count(value) {
  return missing(value) ? DASH : Number(value).toLocaleString(language());
}

/** A share 0..1 as a percentage with one decimal. */
export function percent(ratio) {
  return missing(ratio) ? DASH : `${(ratio * 100).toFixed(1)}%`;
}

/** Seconds with one decimal (ASA: a few seconds, where a tenth matters). */
export function seconds(value) {
  return missing(value) ? DASH : t("rep.unit.seconds", { n: value.toFixed(1) });
}

/** Minutes and seconds (handle times, m:ss). */
export function minutes(value) {
  if (missing(value)) return DASH;
  const whole = Math.round(value);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

/** Hours and minutes of agents' time (h:mm). */
export function hours(value) {
  if (missing(value)) return DASH;
  const whole = Math.round(value / 60);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

/** A time to close: hours under two days, days after. */
export function duration(value) {
  if (missing(value)) return DASH;
  const h = value / 3600;
  return h < 48 ? t("rep.unit.hours", { n: h.toFixed(1) }) : t("rep.unit.days", { n: (h / 24).toFixed(1) });
}

/** KPI points, 0..100, one decimal. */
export function points(value) {
  return missing(value) ? DASH : value.toFixed(1);
}

/** Fen as CNY, in the page's language. */
export function yuan(fen) {
  if (missing(fen)) return DASH;
  return new Intl.NumberFormat(language(), { style: "currency", currency: "CNY" }).format(fen / 100);
}

/** The center's wall-clock time of an API time ("2026-03-02T09:00:00+08:00"): read from the
 * text, never converted to the browser's own zone (a supervisor may sit elsewhere). */
export function wallClock(iso) {
  return { day: iso.slice(0, 10), time: iso.slice(11, 16) };
}

/** The label of an interval: "09:00" in a one-day report, "03-02 09:00" over several days,
 * the date for day intervals. */
export function intervalLabel(iso, interval, manyDays) {
  const { day, time } = wallClock(iso);
  if (interval === "day") return day;
  return manyDays ? `${day.slice(5)} ${time}` : time;
}
