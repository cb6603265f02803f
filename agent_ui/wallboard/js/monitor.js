// The supervisor's monitoring call: started from an agent's row (listen, whisper, barge ring
// the supervisor's own phone, which then spies through ChanSpy: this page's browser phone when
// it is registered, phone.js, else their desk phone), shown in a bar while it
// lasts, also after a reload, and hung up from the bar. No event tells the page when the
// phone hangs up by itself (monitoring must not show on the agent's side either), so while a
// monitoring is shown the page asks the server now and then whether it still runs.

import { ApiError, get, post, request } from "../../js/api.js";
import { $, replace } from "../../js/dom.js";
import { t } from "../../js/i18n.js";
import { act, showError } from "./actions.js";

export const MODES = ["listen", "whisper", "barge"];
const CHECK_MS = 5_000;

export class MonitorBar {
  constructor({ agentName, redraw, phone }) {
    this.agentName = agentName;
    this.redraw = redraw;
    this.phone = phone; // the page's browser phone: the call this click asks for answers itself
    this.monitoring = null; // GET /api/supervision/monitor, or null
    this.timer = null;
    $("monitor-stop").addEventListener("click", () => this.stop());
  }

  /** The monitoring running now, if any (404 ``not-monitoring``: none). */
  async load() {
    try {
      this.set(await get("/supervision/monitor"));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) this.set(null);
      else if (!(error instanceof ApiError && error.status === 401)) showError(t("wb.monitor_check"), error);
    }
  }

  /** Ring the supervisor's phone to ``mode`` on the agent's call (buttons in ``holder``). */
  async start(holder, agentId, mode) {
    this.phone?.expect(mode); // before the request: the INVITE may reach the page before its answer
    const started = await act(holder, t(`wb.mode.${mode}`), () =>
      post("/supervision/monitor", { agent_id: agentId, mode }),
    );
    if (started) this.set(started);
    else this.phone?.forget();
    this.redraw();
  }

  async stop() {
    const stopped = await act($("monitor-bar"), t("wb.hang_up"), async () => {
      try {
        await request("DELETE", "/supervision/monitor");
      } catch (error) {
        // Ended meanwhile (the phone hung up, the call ended): what the supervisor wanted.
        if (!(error instanceof ApiError && error.error === "not-monitoring")) throw error;
      }
      return true;
    });
    if (stopped) this.set(null);
  }

  set(monitoring) {
    this.monitoring = monitoring;
    clearInterval(this.timer);
    this.timer = monitoring ? setInterval(() => this.load(), CHECK_MS) : null;
    this.render();
  }

  render() {
    const bar = $("monitor-bar");
    bar.hidden = this.monitoring === null;
    if (!this.monitoring) return;
    const { agent_id: agentId, mode } = this.monitoring;
    bar.dataset.mode = mode;
    replace($("monitor-text"), t("wb.monitoring", { agent: this.agentName(agentId), mode: t(`wb.mode.${mode}`) }));
  }
}
