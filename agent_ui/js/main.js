// The agent desktop: logs in, then wires the websocket's events to the page's areas.

import { AgentPanel } from "./agent.js";
import { ApiError, get, onUnauthenticated, post } from "./api.js";
import { CallPanel } from "./calls.js";
import { RecordingPausePanel } from "./recording_pause.js";
import { ClientView } from "./client_view.js";
import { $, replace } from "./dom.js";
import { applyStatic, loadLanguages, onLanguageChange, setLanguage, t } from "./i18n.js";
import { Pop } from "./pop.js";
import { Search } from "./search.js";
import { Softphone } from "./softphone.js";
import { MyWork } from "./my_work.js";
import { CtiSocket } from "./socket.js";
import { LoginFlow } from "./login.js";
import { MANAGERS } from "./manager_page.js"; // their home is the wallboard
import { describe, WrapUp } from "./wrapup.js";
import { describeRefusal } from "./errors.js";

let toastTimer = null;
function toast(error) {
  const node = $("toast");
  replace(node, typeof error === "string" ? error : describe(error));
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.hidden = true; }, 6000);
}

const clientView = new ClientView({ toast });
const wrapUp = new WrapUp({
  toast,
  onSaved: () => clientView.refresh(), // the new call, its outcome and notes, without a reload
  onLimit: () => holdForNotes(),
});
const agent = new AgentPanel({
  toast,
  onWrapUp: (id) => wrapUp.open(id),
  phoneWhy: () => softphone.whyNot(), // a refused "ready" says why the browser phone is not registered
});
const recording = new RecordingPausePanel({ toast });
const calls = new CallPanel({
  toast,
  clientId: () => clientView.clientId,
  agentState: () => agent.agent?.state,
  onStatus: (status) => {
    recording.follow(status);
    softphone.render(); // its own hang-up shows only for a call the call control does not have
  },
});
// The browser phone: registered while the agent is logged in on this page; its registration
// is what lets the agent go ready (the top bar asks the server again when it changes).
const softphone = new Softphone({
  toast,
  onRegistration: () => phoneChanged(),
  callPanelState: () => calls.status?.state ?? (calls.dialling ? "dialling" : "none"),
});
/** The browser phone's registration changed: the top bar asks the server again. The server
 * learns of a registration from Asterisk's own event, which may reach it a moment after the
 * phone's 200 OK reached the page: asked again a few times until the two agree. */
async function phoneChanged(attempts = 5) {
  for (let i = 0; i < attempts; i += 1) {
    await agent.checkPhone();
    const registered = softphone.state === "registered";
    if (!agent.phone || agent.phone.registered === null || agent.phone.registered === registered) return;
    if (!registered) return; // the desk phone may still be registered: the server says so
    await new Promise((resolve) => setTimeout(resolve, 300 * (i + 1)));
  }
}
const pop = new Pop({ onClient: (clientId, interactionId) => clientView.open(clientId, interactionId) });
// The dialler's work: a dialled item's call is followed by the call panel like any other.
const myWork = new MyWork({
  toast,
  openClient: (clientId, reason) => clientView.open(clientId, null, reason),
  onDialled: (dialled) => {
    calls.dialling = dialled;
    calls.render();
  },
});
const search = new Search({
  open: (clientId, reason) => clientView.open(clientId, null, reason),
  needsReason: () => user?.role === "agent",
});
const socket = new CtiSocket({
  onMessage: dispatch,
  onStatus: (status) => {
    const node = $("ws-status");
    node.dataset.status = status;
    replace(node, t(`ws.${status}`));
  },
  onSessionEnded: () => showLogin(t("login.expired")),
  onRefused: (code) => toast(t("ws.refused_message", { code })),
});
let user = null;
const login = new LoginFlow({ onSession: (me) => showDesk(me), onLogOut: () => logOut() });

function dispatch(message) {
  const data = message.data ?? {};
  switch (message.type) {
    case "agent.state":
      if (agent.agent && data.agent_id === agent.agent.agent_id) {
        agent.changed().then(() => {
          calls.render();
          if (agent.agent?.state !== "wrap_up") wrapUp.agentLeftWrapUp();
        });
      }
      break;
    case "call.offered":
      wrapUp.close();
      pop.offered(message);
      break;
    case "call.offer_ended":
      pop.phase(data, "offer_ended");
      break;
    case "call.answered":
      pop.phase(data, "answered");
      calls.follow().catch(toast);
      break;
    case "call.ended":
      pop.phase(data, "ended");
      calls.ended();
      if (data.interaction_id) wrapUp.open(data.interaction_id);
      break;
    case "call.control":
      calls.controlled(data);
      myWork.callControl(data); // a dialled work item's call ended: how did it go?
      break;
    case "call.recording": // paused or resumed (by the agent, a supervisor, the limit)
      recording.changed(data);
      break;
    case "call.wrap_up": // the wrap-up's deadline: begun, or extended (here or in another tab)
      if (wrapUp.interaction?.id === data.interaction_id) wrapUp.clock.set(data);
      break;
    case "error":
      toast(describeRefusal(data)); // the id in words: the message is the server's English
      break;
    default:
      break; // hello, resumed, state.ok, pong, and topics this page does not show
  }
}

/** The wrap-up is at its limit and about to end with notes not saved: not ready (after-call
 * work) rather than ready, so that no call comes while the notes are on screen. */
function holdForNotes() {
  const reasons = agent.reasons ?? [];
  const reason = reasons.includes("after_call_work") ? "after_call_work" : reasons[0];
  if (agent.agent?.state !== "wrap_up" || !reason) return;
  agent.act(() => post("/agents/me/state", { state: "not_ready", reason }));
}

// "Ready" with notes typed and not saved would let the next call sweep them away: refused
// here, before the agent panel's own handler sees the click (capture phase).
document.addEventListener("click", (event) => {
  if (event.target.closest?.("#btn-ready") && wrapUp.unsaved()) {
    event.stopImmediatePropagation();
    event.preventDefault();
    toast(t("wrapup.save_before_ready"));
    $("wrapup-notes").focus();
  }
}, true);

function showLogin(message = "") {
  softphone.stop(); // unregistered: no call rings a page that shows the login
  socket.stop();
  agent.stop();
  myWork.stop();
  user = null;
  $("desk-view").hidden = true;
  $("login-view").hidden = false;
  login.showPassword(message);
}

/** A session without the second factor its role requires: enrol one, or log in again. */
async function needsSecondFactor(me) {
  if (!me.mfa_required || me.mfa_verified) return false;
  $("desk-view").hidden = true;
  $("login-view").hidden = false;
  if (me.mfa_enrolled) {
    await post("/auth/logout").catch(() => null); // this session can do nothing more
    showLogin(t("error.mfa-required"));
  } else {
    login.showEnrolment(me);
  }
  return true;
}

async function showDesk(me) {
  if (me.role === "quality") {
    window.location.assign("recordings/"); // quality reviewers listen to calls; they take none
    return;
  }
  if (MANAGERS.has(me.role)) {
    // Supervisors and admins take no calls: a supervisor's screen is the wallboard, an
    // admin's the admin console (same session).
    window.location.assign(me.role === "admin" ? "admin/" : "wallboard/");
    return;
  }
  user = me;
  $("search-reason-label").hidden = me.role !== "agent";
  $("login-view").hidden = true;
  $("desk-view").hidden = false;
  await agent.start(me);
  await calls.refresh().catch(() => calls.render());
  socket.start();
  softphone.start(me); // not awaited: the microphone's question may wait for the agent
  myWork.start(me);
}

async function logOut() {
  try {
    await post("/auth/logout");
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) toast(error);
  }
  pop.clear();
  clientView.close();
  wrapUp.close();
  showLogin();
}

async function boot() {
  await loadLanguages();
  applyStatic(document);
  for (const select of document.querySelectorAll("select.lang-select")) {
    select.addEventListener("change", () => setLanguage(select.value));
  }
  onLanguageChange(() => {
    agent.render();
    pop.render();
    clientView.render();
    calls.render();
    softphone.render();
    recording.render();
    wrapUp.render();
    search.render();
    myWork.render();
    $("ws-status").textContent = t(`ws.${$("ws-status").dataset.status || "closed"}`);
  });
  onUnauthenticated(() => { if (user) showLogin(t("login.expired")); });
  $("btn-logout").addEventListener("click", logOut);
  try {
    const me = await get("/auth/me");
    if (!(await needsSecondFactor(me))) await showDesk(me);
  } catch (error) {
    showLogin(error instanceof ApiError && error.status === 401 ? "" : describe(error));
  }
}

// Closing or leaving the page unregisters the browser phone (REGISTER with Expires: 0; the
// socket's close makes Asterisk drop the contact too), and the service then takes a ready
// agent whose last phone went out of ready ("no phone"). pagehide also fires when the page
// goes into the back-forward cache, which would otherwise keep it registered while gone.
window.addEventListener("pagehide", () => softphone.stop());
// Back from that cache (the agent pressed Back): the page is live again, so is its phone.
window.addEventListener("pageshow", (event) => {
  if (event.persisted && user) softphone.start(user);
});

boot();
