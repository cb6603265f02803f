// Dates, times and money in the page's language.

import { language } from "./i18n.js";

export function dateTime(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(language(), {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
}

export function date(iso) {
  if (!iso) return "";
  // API dates are calendar days ("2026-11-20"): shown as such, never shifted by a time zone.
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(y, m - 1, d).toLocaleDateString(language(), { year: "numeric", month: "2-digit", day: "2-digit" });
}

export function month(iso) {
  const [y, m] = iso.split("-").map(Number);
  return new Date(y, m - 1, 1).toLocaleDateString(language(), { year: "numeric", month: "short" });
}

/** A Money object of the API ({fen, yuan}) as CNY. */
export function money(amount) {
  if (!amount) return "";
  return new Intl.NumberFormat(language(), { style: "currency", currency: "CNY" }).format(amount.fen / 100);
}

export function seconds(value) {
  if (value === null || value === undefined) return "";
  return `${Math.floor(value / 60)}:${String(value % 60).padStart(2, "0")}`;
}
