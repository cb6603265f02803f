// The wrap-up's clock on the desk: the time left before the ACD makes the agent ready, an
// "extend" button, and the rule that notes being written are never lost to the timer.
//
// The deadline comes from GET /api/agents/me/wrap-up when the wrap-up opens and from every
// ``call.wrap_up`` event (each extension, from this tab or another). While the notes field
// holds text not yet saved:
// * with AUTO_EXTEND_SECONDS or less left, the desk extends the wrap-up by itself (POST
//   /api/agents/me/wrap-up/extend), up to the call's limit (docs/acd.md, "Wrap-up");
// * at the limit it warns, and with HOLD_SECONDS left it asks to be not ready (after-call
//   work) instead of letting the timer make the agent ready; the notes stay on screen and can
//   be saved after wrap-up (the late disposition).

import { ApiError, get, post, serverClock } from "./api.js";
import { $, replace } from "./dom.js";
import { t } from "./i18n.js";

export const AUTO_EXTEND_SECONDS = 10;
export const HOLD_SECONDS = 5;

function clockText(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export class WrapUpClock {
  /**
   * @param {object} hooks unsaved() -> bool: notes not yet saved; onLimit(): the wrap-up is at
   *   its limit with unsaved notes and about to end; toast(error)
   */
  constructor({ unsaved, onLimit, toast }) {
    this.unsaved = unsaved;
    this.onLimit = onLimit;
    this.toast = toast;
    this.deadline = null; // {interaction_id, ends_at, limit_at, extended_seconds}
    this.extending = false;
    this.held = false; // the agent was put not ready at the limit, once per wrap-up
    this.autoExtended = false;
    this.ticker = null;
    $("wrapup-extend").addEventListener("click", () => this.extend(false));
  }

  /** The wrap-up opened: read its deadline (the event may have come before the page did). */
  async load() {
    try {
      this.set(await get("/agents/me/wrap-up"));
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) this.set(null);
      else this.toast(error);
    }
  }

  /** A ``call.wrap_up`` event, or an answer: the deadline now. */
  set(deadline) {
    const again = this.deadline && deadline && this.deadline.interaction_id === deadline.interaction_id;
    if (!again) {
      this.held = false;
      this.autoExtended = false;
    }
    this.deadline = deadline;
    clearInterval(this.ticker);
    this.ticker = deadline ? setInterval(() => this.tick(), 500) : null;
    this.tick();
  }

  /** Another call: nothing of this wrap-up's clock stays. */
  reset() {
    this.held = false;
    this.autoExtended = false;
    this.ended();
    this.render();
  }

  /** The agent is no longer in wrap-up (ready, not ready, another call): no clock. */
  ended() {
    if (!this.deadline) return;
    this.deadline = null;
    clearInterval(this.ticker);
    this.ticker = null;
    this.render();
  }

  secondsLeft() {
    return (Date.parse(this.deadline.ends_at) - serverClock.now().getTime()) / 1000;
  }

  atLimit() {
    return Date.parse(this.deadline.ends_at) >= Date.parse(this.deadline.limit_at);
  }

  async extend(auto) {
    if (this.extending || !this.deadline) return;
    this.extending = true;
    try {
      this.set(await post("/agents/me/wrap-up/extend", {}));
      if (auto) this.autoExtended = true;
    } catch (error) {
      if (error instanceof ApiError && error.error === "wrap-up-limit-reached") {
        this.deadline = { ...this.deadline, limit_at: this.deadline.ends_at };
      } else if (error instanceof ApiError && error.error === "agent-not-in-wrap-up") {
        this.ended();
      } else {
        this.toast(error);
      }
    } finally {
      this.extending = false;
      this.render();
    }
  }

  tick() {
    if (this.deadline && this.unsaved()) {
      const left = this.secondsLeft();
      if (!this.atLimit() && left <= AUTO_EXTEND_SECONDS) {
        this.extend(true);
      } else if (this.atLimit() && left <= HOLD_SECONDS && !this.held) {
        this.held = true;
        this.onLimit();
      }
    }
    this.render();
  }

  render() {
    const box = $("wrapup-clock");
    const warning = $("wrapup-warning");
    const deadline = this.deadline;
    box.hidden = !deadline;
    if (!deadline) {
      // Put not ready at the limit: that stays said until the notes are saved.
      warning.hidden = !(this.held && this.unsaved());
      return;
    }
    const left = this.secondsLeft();
    const atLimit = this.atLimit();
    const label = $("wrapup-left");
    label.dataset.seconds = String(Math.max(0, Math.ceil(left)));
    const parts = [left > 0 ? t("wrapup.time_left", { time: clockText(left) }) : t("wrapup.time_up")];
    if (deadline.extended_seconds > 0) {
      parts.push(t("wrapup.extended_by", { time: clockText(deadline.extended_seconds) }));
    }
    replace(label, parts.join(" · "));
    const button = $("wrapup-extend");
    button.disabled = atLimit || this.extending || left <= 0;
    button.title = atLimit ? t("wrapup.at_limit_hint") : "";
    let message = null;
    if (this.held) message = t("wrapup.held_not_ready");
    else if (atLimit && this.unsaved()) message = t("wrapup.at_limit");
    else if (this.autoExtended && this.unsaved()) message = t("wrapup.auto_extended");
    warning.hidden = !message;
    warning.dataset.state = this.held ? "held" : atLimit ? "limit" : "extended";
    if (message) replace(warning, message);
  }
}
