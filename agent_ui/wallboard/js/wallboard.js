// The supervisors' wallboard: draws the server's `floor.snapshot` (pushed on a change,
// callcenter/cti/floor.py) and counts waits and durations on by itself between two of them.
// Shares the desk's modules (../../js/): the session cookie, the websocket, text-only DOM.
// The supervisor's actions on agents and waiting calls: agents.js, waiting.js, monitor.js; the
// browser phone that listens, whispers and barges: phone.js.

import { ApiError, get, serverClock } from "../../js/api.js";
import { loadReasons } from "../../js/codes.js";
import { $, el, replace } from "../../js/dom.js";
import { seconds } from "../../js/format.js";
import { t, term } from "../../js/i18n.js";
import { openManagerPage } from "../../js/manager_page.js";
import { CtiSocket } from "../../js/socket.js";
import { clearError, describe, showError } from "./actions.js";
import { AgentsTable, STATE_ORDER } from "./agents.js";
import { campaignRows } from "./campaigns.js";
import { MonitorBar } from "./monitor.js";
import { SupervisorPhone } from "./phone.js";
import { loadQueueLabels, queueLabel } from "./queue_names.js";
import { RecordingAlarmBar } from "./recording_alarm.js";
import { WaitingTable } from "./waiting.js";

const SL_TARGET = 0.8; // the center's goal: 80% answered within the queue's threshold
const NAMES_REFRESH_MS = 60_000;

let snapshot = null;
let receivedAt = null;
const names = new Map(); // agent_id -> display name (GET /api/agents)
let namesAt = 0;

const phone = new SupervisorPhone({
  toast: (error) => showError(t("softphone.title"), error),
  monitoring: () => monitor.monitoring,
});
const monitor = new MonitorBar({ agentName, redraw: () => render(), phone });
const recordingAlarm = new RecordingAlarmBar();
const agentsTable = new AgentsTable({ tbody: $("agents"), agentName, since, monitor, redraw: () => render() });
const waitingTable = new WaitingTable({ tbody: $("waiting"), agentName, since, redraw: () => render() });

const socket = new CtiSocket({
  onMessage: (message) => {
    if (message.type === "recording.alarm") return recordingAlarm.update(message);
    if (message.type !== "floor.snapshot") return; // the raw floor events: the snapshot has them
    snapshot = message.data;
    receivedAt = message.at;
    if (snapshot.agents.some((a) => !names.has(a.agent_id))) refreshNames();
    render();
  },
  onStatus: (status) => {
    const node = $("ws-status");
    node.dataset.status = status;
    replace(node, t(`ws.${status}`));
  },
  onSessionEnded: () => gate(t("wb.login_needed")),
  onRefused: (code) => gate(t("ws.refused_message", { code })),
});

/** Seconds from ``iso`` to the server's now: the page's own count between snapshots. */
function since(iso) {
  if (!iso) return null;
  return Math.max(0, Math.floor((serverClock.now() - Date.parse(iso)) / 1000));
}

function percent(ratio) {
  return ratio === null || ratio === undefined ? "–" : `${(ratio * 100).toFixed(1)}%`;
}

function queueRow(q) {
  const sl = q.service_level;
  const slClass = sl === null ? "num" : sl >= SL_TARGET ? "num good" : "num alert";
  return el(
    "tr",
    { "data-queue": q.queue },
    el("td", { "data-testid": "wb-queue-name" }, queueLabel(q.queue)),
    el("td", { class: q.waiting > 0 ? "num alert" : "num", "data-testid": "wb-waiting" }, q.waiting),
    el("td", { class: "num", "data-testid": "wb-longest" }, seconds(since(q.longest_waiting_since)) || "–"),
    el("td", { class: slClass, "data-testid": "wb-sl" }, percent(sl)),
    el("td", { class: "num" }, q.asa_seconds === null ? "–" : seconds(Math.round(q.asa_seconds))),
    el("td", { class: "num" }, percent(q.abandon_rate)),
    el("td", { class: "num" }, q.offered),
    el("td", { class: "num" }, q.answered),
  );
}

function agentName(agentId) {
  return names.get(agentId) ?? `#${agentId}`;
}

function stateCounts(agents) {
  const counts = new Map();
  for (const a of agents) counts.set(a.state, (counts.get(a.state) ?? 0) + 1);
  return STATE_ORDER.filter((s) => counts.has(s)).map((s) =>
    el("span", { class: `chip state-${s}`, "data-state": s }, `${term("state", s)} ${counts.get(s)}`),
  );
}

function callRows(calls) {
  return calls.map((c) =>
    el(
      "tr",
      { "data-call": c.call_id },
      el("td", {}, c.caller ?? "–"),
      el("td", {}, term("tier", c.tier) || "–"),
      el("td", {}, queueLabel(c.queue)),
      el("td", {}, agentName(c.agent_id)),
      el("td", { class: "num" }, seconds(since(c.answered_at))),
    ),
  );
}

function render() {
  $("empty").hidden = snapshot !== null;
  if (!snapshot) return;
  replace($("day"), snapshot.day ? t("wb.day", { day: snapshot.day }) : "");
  replace($("updated"), receivedAt ? t("wb.updated", { time: new Date(receivedAt).toLocaleTimeString() }) : "");
  replace($("queues"), snapshot.queues.map(queueRow));
  replace($("campaigns"), campaignRows(snapshot.campaigns ?? []));
  $("no-campaigns").hidden = (snapshot.campaigns ?? []).length > 0;
  replace($("state-counts"), stateCounts(snapshot.agents));
  agentsTable.render(snapshot.agents);
  waitingTable.render(snapshot.waiting ?? [], snapshot.agents);
  $("no-waiting").hidden = (snapshot.waiting ?? []).length > 0;
  replace($("calls"), callRows(snapshot.calls));
  monitor.render();
  phone.render(); // its own hang-up shows only for a call that is not the monitoring
  recordingAlarm.render();
}

/** The floor now, at once (GET /api/supervision/floor); the socket's snapshots follow. */
async function firstPicture() {
  try {
    const floor = await get("/supervision/floor");
    serverClock.observeEnvelope(floor.at);
    // A snapshot that came over the socket meanwhile is newer: keep it.
    if (snapshot !== null && Date.parse(receivedAt) >= Date.parse(floor.at)) return;
    snapshot = floor;
    receivedAt = floor.at;
    if (snapshot.agents.some((a) => !names.has(a.agent_id))) refreshNames();
    render();
  } catch (error) {
    // 401 goes to the gate through the listener; the socket's snapshots may still come.
    if (!(error instanceof ApiError && error.status === 401)) showError(t("wb.load_floor"), error);
  }
}

async function refreshNames() {
  if (Date.now() - namesAt < NAMES_REFRESH_MS) return;
  namesAt = Date.now();
  try {
    for (const agent of await get("/agents")) names.set(agent.agent_id, agent.display_name);
    render();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) showError(t("wb.load_names"), error);
  }
}

/** What the action controls offer: the not-ready reasons and the queues (names only). */
async function loadChoices() {
  try {
    const [reasons, queues] = await Promise.all([loadReasons(), get("/queues")]);
    agentsTable.reasons = reasons;
    waitingTable.queues = queues.map((q) => q.name);
    render();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) showError(t("wb.load_choices"), error);
  }
}

async function loadRecordingAlarm() {
  try {
    await recordingAlarm.load();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) showError(t("wb.load_recording_alarm"), error);
  }
}

function gate(message) {
  socket.stop();
  $("board").hidden = true;
  $("gate").hidden = false;
  replace($("gate-message"), message);
}

async function boot() {
  const me = await openManagerPage({
    gate,
    loginNeeded: "wb.login_needed",
    managersOnly: "wb.managers_only",
    onLanguage: () => {
      render();
      phone.render();
      $("ws-status").textContent = t(`ws.${$("ws-status").dataset.status || "closed"}`);
    },
  });
  if (!me) return;
  $("gate").hidden = true;
  $("board").hidden = false;
  $("error-close").addEventListener("click", clearError);
  // The supervisor's browser phone, registered while the board is open: not awaited, the
  // microphone's question may wait for the supervisor.
  phone.start(me);
  // Closing or leaving the page unregisters it (the desk's rule: js/main.js); back from the
  // back-forward cache it registers again.
  window.addEventListener("pagehide", () => phone.stop());
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) phone.start(me);
  });
  // The desk's queue labels; the board still shows the queues' names without them.
  await loadQueueLabels().catch((error) => showError(t("wb.load_queue_labels"), error));
  render();
  await Promise.all([refreshNames(), loadChoices(), monitor.load(), loadRecordingAlarm()]);
  socket.start();
  await firstPicture();
  // Waits and durations count on between snapshots (the server sends one only on change).
  setInterval(render, 1000);
}

// A page that cannot even start says why (a network failure while loading, say).
boot().catch((error) => gate(describe(error)));
