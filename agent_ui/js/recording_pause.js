// Pausing the call's recording (issue 17, point 3): while the client dictates something that
// must not be kept (a password, a card number), the agent pauses the recording and resumes it
// after; it resumes by itself after the center's limit. The panel follows the call's state
// from GET/POST /api/calls/{call_id}/recording[/pause|/resume] and ``call.recording`` events.
//
// The time paused, and the time left before it resumes by itself, are counted here from when
// the page learned of the pause (the server sends how long it had lasted then): a browser's
// wrong clock or time zone changes neither.

import { ApiError, get, post } from "./api.js";
import { $, replace } from "./dom.js";
import { t } from "./i18n.js";

function clockText(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export class RecordingPausePanel {
  constructor({ toast }) {
    this.toast = toast;
    this.callId = null; // the controlled call's id, or null
    this.state = null; // {recording_id, paused, since (ms, this page's clock), limit}; null: not known
    this.notice = null; // a one-off line: resumed by the limit or a supervisor
    this.unrecorded = false;
    this.busy = false;
    this.ticker = null;
    $("btn-rec-pause").addEventListener("click", () => this.act("pause"));
    $("btn-rec-resume").addEventListener("click", () => this.act("resume"));
  }

  /** The call panel's state changed: follow its call (null: no call). */
  follow(status) {
    const callId = status && !["ended", "transferred"].includes(status.state) ? status.call_id : null;
    if (callId === this.callId) return;
    this.callId = callId;
    this.state = null;
    this.notice = null;
    this.unrecorded = false;
    if (callId) this.load(callId);
    this.render();
  }

  /** The recording is opened a moment after the answer: ask again a few times until then. */
  async load(callId, attempts = 8) {
    for (let i = 0; i < attempts && this.callId === callId; i += 1) {
      try {
        this.apply(await get(`/calls/${encodeURIComponent(callId)}/recording`));
        return;
      } catch (error) {
        if (!(error instanceof ApiError) || error.error !== "call-not-recorded") {
          if (!(error instanceof ApiError && error.status === 409)) this.toast(error);
          return;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    if (this.callId === callId && !this.state) {
      this.unrecorded = true;
      this.render();
    }
  }

  /** An answer of the API or the data of a ``call.recording`` event. */
  apply(data) {
    const paused = data.state === "paused";
    this.unrecorded = false;
    this.state = {
      recording_id: data.recording_id,
      paused,
      since: Date.now() - (paused ? data.paused_seconds * 1000 : 0),
      limit: data.limit_seconds,
    };
    if (paused) this.notice = null;
    else if (data.resumed_by === "limit") this.notice = "rec.resumed_limit";
    else if (data.resumed_by === "supervisor") this.notice = "rec.resumed_supervisor";
    else this.notice = null;
    this.render();
  }

  /** A ``call.recording`` event about this agent's call. */
  changed(data) {
    if (data.call_id !== this.callId) return;
    if (data.state === "ended") {
      this.follow(null);
      return;
    }
    this.apply(data);
  }

  async act(action) {
    if (!this.callId || this.busy) return;
    this.busy = true;
    this.render();
    try {
      this.apply(await post(`/calls/${encodeURIComponent(this.callId)}/recording/${action}`));
    } catch (error) {
      this.toast(error);
      if (error instanceof ApiError && error.status === 409) this.load(this.callId, 1);
    } finally {
      this.busy = false;
      this.render();
    }
  }

  render() {
    const panel = $("recording-panel");
    panel.hidden = !this.callId;
    const status = $("rec-status");
    const paused = Boolean(this.state?.paused);
    panel.dataset.state = this.unrecorded ? "unrecorded" : paused ? "paused" : this.state ? "recording" : "unknown";
    $("btn-rec-pause").disabled = this.busy || !this.state || paused;
    $("btn-rec-resume").disabled = this.busy || !paused;
    $("btn-rec-pause").hidden = paused;
    $("btn-rec-resume").hidden = !paused;
    clearInterval(this.ticker);
    this.ticker = null;
    if (!this.callId) return replace(status, "");
    if (this.unrecorded) return replace(status, t("rec.not_recorded"));
    if (!this.state) return replace(status, "");
    if (!paused) return replace(status, this.notice ? t(this.notice) : t("rec.on"));
    const elapsed = (Date.now() - this.state.since) / 1000;
    const left = this.state.limit - elapsed;
    status.dataset.seconds = String(Math.floor(elapsed));
    replace(
      status,
      t("rec.paused", { time: clockText(elapsed) }),
      " · ",
      t("rec.resumes_in", { left: clockText(left) }),
    );
    this.ticker = setInterval(() => this.render(), 1000);
  }
}
