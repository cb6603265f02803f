// Call recordings: the recordings of an interaction (?interaction=), a client (?client=), a
// complaint (?complaint=), one recording (?recording=), else the newest, and a player.
// Playing asks why first: POST /api/recordings/{id}/playbacks with the reason writes the
// audit entry and answers a ticket; the <audio> element then fetches the file with range
// requests (each seek is one) carrying that ticket, so one playback is audited once.
// The pauses the agent made show on the timeline. Shares the desk's modules (../../js/).

import { ApiError, get, onUnauthenticated, post, query } from "../../js/api.js";
import { $, el, facts, replace } from "../../js/dom.js";
import { describeError } from "../../js/errors.js";
import { applyStatic, language, loadLanguages, onLanguageChange, setLanguage, t, term } from "../../js/i18n.js";

const state = { items: [], current: null, scope: null };

function gate(message) {
  $("app").hidden = true;
  $("gate").hidden = false;
  $("gate-message").textContent = message;
}

function when(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(language(), {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });
}

function clock(ms) {
  if (ms === null || ms === undefined) return "";
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

function bytes(size) {
  if (size === null || size === undefined) return "";
  return t("rec.kib", { size: Math.round(size / 1024).toLocaleString(language()) });
}

/** What the address asks for: one of interaction, client, complaint or recording. */
function asked() {
  const params = new URLSearchParams(location.search);
  for (const key of ["recording", "interaction", "complaint", "client"]) {
    const value = params.get(key);
    if (value && /^\d+$/.test(value)) return { key, id: Number(value) };
  }
  return null;
}

async function load() {
  state.scope = asked();
  const scope = state.scope;
  if (scope?.key === "recording") {
    state.items = [await get(`/recordings/${scope.id}`)];
  } else {
    const params = scope ? { [`${scope.key}_id`]: scope.id } : {};
    state.items = (await get(`/recordings${query(params)}`)).items;
  }
  if (state.items.length === 1) state.current = state.items[0];
}

function renderScope() {
  const scope = state.scope;
  $("scope").textContent = scope ? t(`rec.scope.${scope.key}`, { id: scope.id }) : t("rec.scope.newest");
}

function renderList() {
  const rows = state.items;
  $("list-empty").hidden = rows.length > 0;
  const table = $("list");
  table.hidden = rows.length === 0;
  replace(
    table,
    el("thead", {}, el("tr", {}, [t("rec.started"), t("rec.duration"), t("rec.interaction"), t("rec.status"), t("rec.pauses"), ""].map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((r) => el("tr", { "data-testid": "recording-row", "data-recording-id": r.id, class: state.current?.id === r.id ? "current" : null },
      el("td", {}, when(r.started_at)),
      el("td", { class: "num" }, clock(r.duration_ms)),
      el("td", {}, r.interaction_id ?? ""),
      el("td", {}, term("rec.status", r.status)),
      el("td", { class: "num" }, r.pauses.length),
      el("td", {}, el("button", { type: "button", class: "link", "data-testid": "open-recording", onclick: () => open(r) }, t("rec.listen")))))),
  );
}

function open(recording) {
  if (state.current?.id !== recording.id) {
    const audio = $("audio");
    audio.removeAttribute("src");
    audio.load();
  }
  state.current = recording;
  $("player-error").textContent = "";
  render();
}

function renderPlayer() {
  const r = state.current;
  $("player").hidden = !r;
  if (!r) return;
  $("player-title").textContent = t("rec.recording", { id: r.id });
  facts($("facts"), [
    [t("rec.interaction"), r.interaction_id ?? ""],
    [t("rec.started"), when(r.started_at)],
    [t("rec.duration"), clock(r.duration_ms), "duration"],
    [t("rec.size"), bytes(r.size_bytes)],
    [t("rec.status"), term("rec.status", r.status)],
    [t("rec.format"), t("rec.format_value")],
    [t("rec.pauses"), r.pauses.length ? r.pauses.map((p) => `${clock(p.start_ms)}–${p.end_ms === null ? "" : clock(p.end_ms)}`).join(", ") : t("rec.no_pauses")],
  ]);
  renderTimeline();
}

function renderTimeline() {
  const r = state.current;
  const line = $("timeline");
  for (const old of line.querySelectorAll(".pause")) old.remove();
  const total = r?.duration_ms || 0;
  if (!total) return;
  for (const pause of r.pauses) {
    const end = pause.end_ms ?? total;
    const span = el("div", { class: "pause", "data-testid": "pause", title: `${clock(pause.start_ms)}–${clock(end)}` });
    // The CSSOM, not a style attribute: the page's CSP allows no inline style.
    span.style.left = `${(100 * pause.start_ms) / total}%`;
    span.style.width = `${(100 * Math.max(0, end - pause.start_ms)) / total}%`;
    line.append(span);
  }
}

function moveCursor() {
  const audio = $("audio");
  const total = audio.duration || (state.current?.duration_ms ?? 0) / 1000;
  $("cursor").style.left = total ? `${Math.min(100, (100 * audio.currentTime) / total)}%` : "0";
}

function render() {
  renderScope();
  renderList();
  renderPlayer();
}

/** The reason the form holds, or null after saying what is missing. */
function reason() {
  const select = $("reason");
  const text = $("reason-text");
  select.setCustomValidity(select.value ? "" : t("rec.reason_missing"));
  text.setCustomValidity(select.value === "other" && !text.value.trim() ? t("rec.reason_text_missing") : "");
  if (!select.reportValidity() || !text.reportValidity()) return null;
  return { reason: select.value, reason_text: text.value.trim() || null };
}

async function playback(purpose) {
  const r = state.current;
  const why = reason();
  if (!r || !why) return null;
  $("player-error").textContent = "";
  try {
    return await post(`/recordings/${r.id}/playbacks`, { ...why, purpose });
  } catch (error) {
    $("player-error").textContent = describeError(error);
    return null;
  }
}

async function play(event) {
  event.preventDefault();
  const opened = await playback("play");
  if (!opened) return;
  const audio = $("audio");
  audio.src = opened.audio_url;
  audio.play().catch(() => null); // the controls stay: the user can press play
}

async function download() {
  const opened = await playback("download");
  if (!opened) return;
  const link = el("a", { href: opened.audio_url, download: `recording-${opened.recording_id}.wav`, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
}

function wire() {
  for (const select of document.querySelectorAll("select.lang-select")) {
    select.addEventListener("change", () => setLanguage(select.value));
  }
  onLanguageChange(render);
  $("reason-form").addEventListener("submit", play);
  $("btn-download").addEventListener("click", download);
  for (const id of ["reason", "reason-text"]) $(id).addEventListener("input", () => $(id).setCustomValidity(""));
  const audio = $("audio");
  audio.addEventListener("timeupdate", moveCursor);
  audio.addEventListener("error", () => {
    // The ticket expired or the rules changed: the audio's answer is a refusal.
    if (audio.getAttribute("src")) $("player-error").textContent = t("rec.audio_failed");
  });
  $("timeline").addEventListener("click", (event) => {
    if (!audio.getAttribute("src") || !audio.duration) return;
    const box = $("timeline").getBoundingClientRect();
    audio.currentTime = ((event.clientX - box.left) / box.width) * audio.duration;
  });
}

async function boot() {
  await loadLanguages();
  applyStatic(document);
  wire();
  onUnauthenticated(() => gate(t("rec.login_needed")));
  let me;
  try {
    me = await get("/auth/me");
  } catch (error) {
    gate(error instanceof ApiError && error.status === 401 ? t("rec.login_needed") : describeError(error));
    return;
  }
  if (me.mfa_required && !me.mfa_verified) {
    window.location.assign("../"); // the second factor is asked on the desk's login page
    return;
  }
  try {
    await load();
  } catch (error) {
    gate(describeError(error));
    return;
  }
  $("gate").hidden = true;
  $("app").hidden = false;
  render();
}

boot();
