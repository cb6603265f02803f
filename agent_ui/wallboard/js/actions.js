// The supervisor's actions and what becomes of them: every request disables its controls
// while it runs, and every failure is shown in words in the page's language (the board's own
// for the errors its actions meet, else the shared ones: ../../js/errors.js), never dropped.

import { ApiError } from "../../js/api.js";
import { $, replace } from "../../js/dom.js";
import { describeError } from "../../js/errors.js";
import { t } from "../../js/i18n.js";

/** An error in the supervisor's words. */
export function describe(error) {
  return describeError(error);
}

export function showError(action, error) {
  replace($("error-text"), t("wb.failed", { action, message: describe(error) }));
  $("error-bar").hidden = false;
}

export function clearError() {
  $("error-bar").hidden = true;
  replace($("error-text"));
}

/** Run ``send()`` with the controls inside ``holder`` disabled (``holder.dataset.busy`` tells
 * the next redraw to keep them so); returns its answer, or undefined when it failed. */
export async function act(holder, action, send) {
  holder.dataset.busy = "1";
  for (const control of holder.querySelectorAll("button, select")) control.disabled = true;
  try {
    const answer = await send();
    clearError();
    return answer;
  } catch (error) {
    // 401: the session ended; the page's listener shows the gate instead.
    if (!(error instanceof ApiError && error.status === 401)) showError(action, error);
    return undefined;
  } finally {
    delete holder.dataset.busy;
    for (const control of holder.querySelectorAll("button, select")) control.disabled = false;
  }
}

export function busy(holder) {
  return holder.dataset.busy === "1";
}
