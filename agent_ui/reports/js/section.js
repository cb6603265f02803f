// What every report section shares: its default dates, the loading state on the page (which
// the browser test waits on), errors shown in words, and the CSV link of the same query.

import { ApiError, query } from "../../js/api.js";
import { $, replace } from "../../js/dom.js";
import { describeError, invalidFields } from "../../js/errors.js";
import { t } from "../../js/i18n.js";

const pad = (n) => String(n).padStart(2, "0");

// The center's day ("YYYY-MM-DD"), as the server tells it at the page's start
// (GET /api/reports/today): the reports count the center's days (Asia/Shanghai), and a
// browser elsewhere (Los Angeles in its evening) is on another calendar day.
let centerDay = null;

export function setCenterDay(day) {
  centerDay = /^\d{4}-\d{2}-\d{2}$/.test(day ?? "") ? day : null;
}

/** Noon of the center's day, on the browser's calendar (the browser's today if not known):
 * noon, so that stepping whole days never crosses a daylight-saving change. */
function centerDate() {
  if (!centerDay) return new Date();
  const [year, month, day] = centerDay.split("-").map(Number);
  return new Date(year, month - 1, day, 12);
}

/** A day as the date inputs and the API write it. */
export function isoDay(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The center's today. */
export function today() {
  return isoDay(centerDate());
}

export function daysAgo(days) {
  const date = centerDate();
  date.setDate(date.getDate() - days);
  return isoDay(date);
}

/** The last whole month, YYYY-MM: account summaries arrive after a month closes. */
export function lastMonth() {
  const date = centerDate();
  date.setDate(1);
  date.setMonth(date.getMonth() - 1);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}`;
}

/** Point a CSV link at the same report as the page shows (format=csv of the same query). */
export function csvLink(id, path, params) {
  $(id).href = `/api${path}${query({ ...params, format: "csv" })}`;
}

/** Why a request failed, in the page's language: a 422 names the fields the server refused
 * and why; anything else by its error id, or as no answer from the server (errors.js). */
export function explain(error) {
  if (error instanceof ApiError && error.status === 422 && Array.isArray(error.detail)) {
    return t("rep.invalid", { fields: invalidFields(error.detail) });
  }
  if (error instanceof ApiError && error.status === 403) return t("rep.managers_only");
  return t("rep.failed", { message: describeError(error) });
}

/** "Updated 16:53:46" in the page's language (again after a language change). */
export function showUpdated(node) {
  if (node.dataset.updated) replace(node, t("rep.updated", { time: new Date(node.dataset.updated).toLocaleTimeString() }));
}

/**
 * Runs one section's requests: marks the page loading / ready / error (``data-state``, with
 * the query it shows in ``data-query``), and drops an answer that a newer request overtook.
 */
export class Loader {
  constructor(page) {
    this.page = page;
    this.seq = 0;
  }

  async run(queryText, fetch) {
    const mine = ++this.seq;
    const node = $(`page-${this.page}`);
    node.dataset.state = "loading";
    replace($(`${this.page}-error`), "");
    replace($(`${this.page}-status`) ?? document.createElement("span"), t("rep.loading"));
    try {
      const data = await fetch();
      if (mine !== this.seq) return null;
      node.dataset.query = queryText;
      node.dataset.state = "ready";
      const status = $(`${this.page}-status`);
      if (status) {
        status.dataset.updated = new Date().toISOString();
        showUpdated(status);
      }
      return data;
    } catch (error) {
      if (mine !== this.seq) return null;
      if (!(error instanceof ApiError)) console.error(error);
      node.dataset.state = "error";
      replace($(`${this.page}-error`), explain(error));
      const status = $(`${this.page}-status`);
      if (status) {
        delete status.dataset.updated;
        replace(status, "");
      }
      return null;
    }
  }
}
