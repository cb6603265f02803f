// The supervisor's browser phone (issue 19, point 5): the desk's own (../../js/softphone.js),
// registered as <extension>-web while the wallboard is open and unregistered when it closes,
// so that listen, whisper and barge ring this page: the service rings the browser's line
// whenever it is registered, else the desk phone (callcenter/pbx/registrations.py).
//
// The monitoring call answers itself, without a ring, when it comes within the ring time of
// the supervisor's own click on Listen, Whisper or Barge and names that mode (the service's
// caller ID is "<mode> <agent's extension>"): the click was the supervisor asking for it, and a
// second click on "Answer" would only be a delay in which the agent's call goes on unheard.
// Any other call to the line (one started from another tab, or over the API) rings and waits
// for "Answer", as on the desk. The click also lets the page play sound (browsers keep a page
// silent until it is clicked).

import { MANAGERS } from "../../js/manager_page.js";
import { Softphone } from "../../js/softphone.js";

// The service rings the supervisor's line for 30 s (RING_MS in callcenter/pbx/supervision.py);
// the request itself and the INVITE's way to the page get a few seconds more.
const EXPECT_MS = 35_000;

export class SupervisorPhone {
  /** @param {object} deps toast(error), monitoring() (the monitoring the page shows, or null) */
  constructor({ toast, monitoring }) {
    this.expected = null; // {mode, until}: the call the supervisor's click asked for
    this.softphone = new Softphone({
      toast,
      onRegistration: () => null, // the board shows no agent state of the supervisor's
      // The monitoring bar's "Hang up" ends a monitoring (server side); the phone's own only
      // a call that is not one.
      callPanelState: () => (monitoring() ? "monitoring" : "none"),
      roles: MANAGERS,
      answersItself: (caller) => this.asked(caller),
    });
  }

  /** The supervisor clicked ``mode``: its call, ringing within the ring time, answers itself. */
  expect(mode) {
    this.expected = { mode, until: Date.now() + EXPECT_MS };
  }

  /** The request was refused: no call is coming. */
  forget() {
    this.expected = null;
  }

  asked(caller) {
    const expected = this.expected;
    this.expected = null; // one click, one call
    return expected !== null && Date.now() < expected.until && caller.startsWith(`${expected.mode} `);
  }

  start(user) {
    return this.softphone.start(user);
  }

  stop() {
    this.softphone.stop();
  }

  render() {
    this.softphone.render();
  }
}
