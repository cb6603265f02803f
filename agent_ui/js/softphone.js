// The browser phone (issue 19): the agent's <extension>-web endpoint, registered over
// WebSocket SIP (TLS) with JsSIP when the agent logs in on the desk, unregistered when they log
// out or close the page. The ACD rings it (after the pop); the agent answers here. Hold,
// transfer and the call's hang-up stay with the call control (calls.js), which acts on the
// call in Asterisk whatever phone carries it; this module carries the sound: answer, mute,
// DTMF, the microphone and the speaker.
//
// JsSIP is built from npm at setup into ../vendor/jssip.js (agent_ui_build/) and loaded only
// when the phone starts, so a checkout that has not run scripts/setup still gets a working
// desk, and says why it has no browser phone.

import { ApiError, get } from "./api.js";
import { $, el, replace } from "./dom.js";
import { t } from "./i18n.js";
import {
  audioDevices,
  canChooseSpeaker,
  checkMicrophone,
  loadChoice,
  microphoneConstraint,
  microphoneProblem,
  Ring,
  routeTo,
  saveChoice,
} from "./softphone_media.js";

const AGENT_ROLES = new Set(["agent", "advisor"]);
// Re-registered this often; a browser that vanished without unregistering is forgotten by
// Asterisk after this long at the latest (its WebSocket's close forgets it sooner).
const REGISTER_EXPIRES_SECONDS = 60;
const DIGITS = "123456789*0#";

export class Softphone {
  /**
   * @param {object} deps toast(error), onRegistration() (the registration changed: the top
   *   bar asks the server again), callPanelState() (the call control's state: "none" when the
   *   server has no call of this agent's to control); roles: who gets a phone on this page
   *   (the desk: agents and advisors; the wallboard: supervisors); answersItself(caller): true
   *   for a call the person asked for by a click on the page (the wallboard's listen), which is
   *   then answered without ringing
   */
  constructor({ toast, onRegistration, callPanelState, roles = AGENT_ROLES, answersItself = () => false }) {
    this.toast = toast;
    this.onRegistration = onRegistration;
    this.callPanelState = callPanelState;
    this.roles = roles;
    this.answersItself = answersItself;
    this.JsSIP = null;
    this.ua = null;
    this.web = null; // GET /api/me/phone's "web": uri, ws_url, authorization_user, password, realm
    this.extension = null;
    this.state = "off"; // see render(): the words are softphone.state.<state>
    this.problem = null; // () => a microphone or connection problem in words (the page's language then)
    this.connectedOnce = false;
    this.session = null; // the JsSIP RTCSession of the call in the page
    this.call = null; // null | "ringing" | "answering" | "talking"
    this.caller = ""; // the ringing call's caller, as the INVITE names them
    this.muted = false;
    this.retriedAuth = false;
    this.choice = loadChoice();
    this.ring = new Ring();
    $("softphone-answer").addEventListener("click", () => this.answer());
    $("softphone-mute").addEventListener("click", () => this.toggleMute());
    $("softphone-hangup").addEventListener("click", () => this.hangUp());
    $("softphone-retry").addEventListener("click", () => this.start(this.user));
    for (const digit of DIGITS) {
      $("softphone-keypad").append(
        el("button", { type: "button", "data-digit": digit, onclick: () => this.dtmf(digit) }, digit),
      );
    }
    $("softphone-mic").addEventListener("change", (event) => this.chooseMicrophone(event.target.value));
    $("softphone-speaker").addEventListener("change", (event) => this.chooseSpeaker(event.target.value));
    navigator.mediaDevices?.addEventListener?.("devicechange", () => this.listDevices());
  }

  /** Whether the page has a call with sound (the call control's hang-up may lack it). */
  get inCall() {
    return this.session !== null;
  }

  /** Register the browser phone of ``user`` (on the desk agents and advisors take calls). */
  async start(user) {
    this.stop();
    this.user = user;
    if (!user || !this.roles.has(user.role)) return;
    this.set("starting");
    let phone;
    try {
      phone = await get("/me/phone");
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return this.set("no_phone");
      this.set("failed", () => t("softphone.no_credentials"));
      return this.toast(error);
    }
    if (this.user !== user) return; // logged out meanwhile
    this.extension = phone.extension;
    this.web = phone.web;
    if (!this.web?.ws_url) return this.set("no_phone");
    try {
      this.JsSIP ??= (await import("../vendor/jssip.js")).default;
    } catch {
      return this.set("failed", () => t("softphone.not_installed"));
    }
    // The microphone first: a phone that cannot send sound must not take calls (it would
    // make the agent ready for calls they cannot answer). The browser may ask the person now.
    this.set("microphone");
    const problem = await checkMicrophone(this.choice.microphone);
    if (this.user !== user) return;
    if (problem) return this.set("no_microphone", () => t(`softphone.mic_${problem}`));
    this.listDevices();
    this.registerAlone(user);
  }

  /** One tab of this browser holds the phone: two tabs registering the same line would take
   * the registration from each other at every renewal. A second tab waits (and says so), and
   * registers when the first one closes or logs out. */
  registerAlone(user) {
    if (!navigator.locks) return this.register();
    this.set("other_tab");
    const waiting = new AbortController();
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    this.letGo = () => { waiting.abort(); release(); };
    navigator.locks
      .request(`callcenter-softphone-${this.extension}`, { signal: waiting.signal }, () => {
        if (this.user !== user || waiting.signal.aborted) return undefined;
        this.register();
        return held; // kept until stop()
      })
      .catch(() => {}); // aborted by stop() while waiting: nothing to do
  }

  register() {
    const JsSIP = this.JsSIP;
    const socket = new JsSIP.WebSocketInterface(this.web.ws_url);
    const ua = new JsSIP.UA({
      sockets: [socket],
      uri: this.web.uri,
      authorization_user: this.web.authorization_user,
      password: this.web.password,
      realm: this.web.realm,
      register: true,
      register_expires: REGISTER_EXPIRES_SECONDS,
      user_agent: "callcenter-desk",
      // JsSIP reconnects by itself after a network drop (and registers again once
      // connected): from 2 s, backing off to 30 s.
      connection_recovery_min_interval: 2,
      connection_recovery_max_interval: 30,
    });
    this.ua = ua;
    this.connectedOnce = false;
    const mine = (handler) => (...args) => { if (this.ua === ua) handler(...args); };
    ua.on("connecting", mine(() => {
      if (this.state !== "unreachable") this.set(this.connectedOnce ? "reconnecting" : "connecting");
    }));
    ua.on("connected", mine(() => { this.connectedOnce = true; this.set("registering"); }));
    ua.on("disconnected", mine(() => {
      // Never connected: most often a certificate the browser does not trust yet.
      if (this.connectedOnce) this.set("reconnecting");
      else this.set("unreachable", () => t("softphone.unreachable"));
      this.onRegistration();
    }));
    ua.on("registered", mine(() => { this.retriedAuth = false; this.set("registered"); this.onRegistration(); }));
    ua.on("unregistered", mine(() => {
      this.set(ua.isConnected() ? "not_registered" : "reconnecting");
      this.onRegistration();
    }));
    ua.on("registrationFailed", mine((event) => this.registrationFailed(event)));
    ua.on("newRTCSession", mine((event) => this.incoming(event)));
    ua.start();
  }

  /** The credentials may have been rotated since the page read them: read them once more. */
  registrationFailed(event) {
    const auth = event.cause === this.JsSIP.C.causes.AUTHENTICATION_ERROR;
    this.onRegistration();
    if (auth && !this.retriedAuth) {
      this.retriedAuth = true;
      this.start(this.user);
      return;
    }
    const status = event.response?.status_code;
    this.set("not_registered", auth ? () => t("softphone.auth_failed") : () => t("softphone.refused", { status: status ?? "-" }));
  }

  /** Unregister and let go of the socket: logging out, or the page going away. */
  stop() {
    this.letGo?.(); // the tab lock, held or waited for
    this.letGo = null;
    this.ring.stop();
    this.hangUp();
    this.endCall();
    const ua = this.ua;
    this.ua = null; // its events no longer touch the page
    ua?.stop(); // REGISTER with Expires: 0, then the socket closes
    this.set("off");
  }

  incoming({ originator, session }) {
    if (originator !== "remote") return;
    if (this.session) {
      session.terminate({ status_code: 486 }); // busy: one call at a time in the page
      return;
    }
    this.session = session;
    this.call = "ringing";
    this.caller = session.remote_identity?.display_name || session.remote_identity?.uri?.user || "";
    session.on("peerconnection", ({ peerconnection }) => this.hear(peerconnection));
    session.on("accepted", () => { this.call = "talking"; this.ring.stop(); this.render(); });
    session.on("getusermediafailed", (error) => {
      const problem = microphoneProblem(error);
      this.problem = () => t(`softphone.mic_${problem}`);
      this.render();
    });
    session.on("muted", () => { this.muted = true; this.render(); });
    session.on("unmuted", () => { this.muted = false; this.render(); });
    const over = () => { if (this.session === session) this.endCall(); };
    session.on("ended", over);
    session.on("failed", over);
    if (this.answersItself(this.caller)) return this.answer(); // asked for by a click: no ring
    this.ring.start(this.choice.speaker);
    this.render();
  }

  /** The caller's sound, on the chosen speaker. */
  hear(peerconnection) {
    const audio = $("softphone-audio");
    peerconnection.addEventListener("track", (event) => {
      audio.srcObject = event.streams[0] ?? new MediaStream([event.track]);
      routeTo(audio, this.choice.speaker).catch(() => this.toast(t("softphone.speaker_gone")));
      audio.play().catch(() => null); // autoplay: the agent's click on Answer allows it
    });
  }

  answer() {
    if (this.call !== "ringing") return;
    this.ring.stop();
    this.call = "answering";
    this.problem = null;
    this.render();
    try {
      this.session.answer({
        mediaConstraints: { audio: microphoneConstraint(this.choice.microphone), video: false },
        pcConfig: { iceServers: [] }, // host candidates: Asterisk is on this machine or its network
      });
    } catch {
      this.endCall(); // the caller hung up (or the ring ended) at the moment of the click
    }
  }

  /** End the page's call whatever its state (JsSIP refuses to end one that is over). */
  hangUp() {
    try {
      this.session?.terminate();
    } catch {
      // already ended: its "ended" or "failed" event clears it
    }
  }

  endCall() {
    this.ring.stop();
    this.session = null;
    this.call = null;
    this.muted = false;
    $("softphone-audio").srcObject = null;
    this.render();
  }

  toggleMute() {
    if (this.call !== "talking") return;
    if (this.session.isMuted().audio) this.session.unmute({ audio: true });
    else this.session.mute({ audio: true });
  }

  /**
   * A keypad digit, as RTP events (RFC 4733) when the call negotiated telephone-event (the
   * phones' dtmf_mode in Asterisk), else as SIP INFO (application/dtmf-relay), which Asterisk's
   * res_pjsip_dtmf_info takes on any endpoint.
   */
  dtmf(digit) {
    if (this.call !== "talking") return;
    const sender = this.session.connection?.getSenders().find((s) => s.track?.kind === "audio");
    const rtp = sender?.dtmf?.canInsertDTMF;
    const transportType = rtp ? this.JsSIP.C.DTMF_TRANSPORT.RFC2833 : this.JsSIP.C.DTMF_TRANSPORT.INFO;
    try {
      this.session.sendDTMF(digit, { transportType, duration: 160, interToneGap: 80 });
    } catch {
      return; // the call ended under the click
    }
    $("softphone-dtmf-sent").textContent = `${$("softphone-dtmf-sent").textContent}${digit}`.slice(-24);
  }

  async listDevices() {
    const { microphones, speakers } = await audioDevices();
    const fill = (select, devices, chosen, fallbackKey) => {
      replace(
        select,
        el("option", { value: "" }, t("softphone.default_device")),
        devices
          .filter((d) => d.id !== "default")
          .map((d, i) => el("option", { value: d.id }, d.label || t(fallbackKey, { n: i + 1 }))),
      );
      select.value = devices.some((d) => d.id === chosen) ? chosen : "";
    };
    fill($("softphone-mic"), microphones, this.choice.microphone, "softphone.microphone_n");
    fill($("softphone-speaker"), speakers, this.choice.speaker, "softphone.speaker_n");
    $("softphone-speaker").disabled = !canChooseSpeaker();
    $("softphone-no-speaker-choice").hidden = canChooseSpeaker();
  }

  /** A new microphone: kept for the next calls, and swapped into the call under way. */
  async chooseMicrophone(id) {
    this.choice.microphone = id;
    saveChoice(this.choice);
    const sender = this.session?.connection?.getSenders().find((s) => s.track?.kind === "audio");
    if (!sender) return;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: microphoneConstraint(id), video: false });
      const old = sender.track;
      await sender.replaceTrack(stream.getAudioTracks()[0]);
      old?.stop();
    } catch (error) {
      const problem = microphoneProblem(error);
      this.problem = () => t(`softphone.mic_${problem}`);
      this.render();
    }
  }

  async chooseSpeaker(id) {
    this.choice.speaker = id;
    saveChoice(this.choice);
    await routeTo($("softphone-audio"), id).catch(() => this.toast(t("softphone.speaker_gone")));
  }

  /** https://host:port of the phone's WebSocket: the address whose certificate to accept. */
  wssOrigin() {
    try {
      const url = new URL(this.web.ws_url);
      return `https://${url.host}/`;
    } catch {
      return this.web?.ws_url ?? "";
    }
  }

  /** Why the browser phone cannot take calls now, in words (null: it can, or it is off). */
  whyNot() {
    if (["off", "registered"].includes(this.state)) return null;
    return [t(`softphone.state.${this.state}`), this.problem?.()].filter(Boolean).join(": ");
  }

  set(state, problem = null) {
    this.state = state;
    this.problem = problem;
    this.render();
  }

  render() {
    const card = $("softphone");
    card.hidden = this.state === "off";
    card.dataset.state = this.state;
    card.dataset.call = this.call ?? "none";
    const status = $("softphone-status");
    status.dataset.state = this.state;
    const who = this.extension ? `${this.extension} · ` : "";
    const parts = [`${who}${t(`softphone.state.${this.state}`)}`];
    if (this.call) parts.push(t(`softphone.call.${this.call}`, { caller: this.caller || "-" }));
    if (this.muted) parts.push(t("softphone.muted"));
    replace(status, parts.join(" · "));
    const message = $("softphone-message");
    message.hidden = !this.problem;
    replace(message, this.problem?.() ?? "");
    if (this.state === "unreachable" && this.problem) {
      const origin = this.wssOrigin();
      message.append(" ", el("a", { href: origin, target: "_blank", rel: "noopener" }, origin));
    }
    $("softphone-answer").hidden = this.call !== "ringing";
    $("softphone-mute").hidden = this.call !== "talking";
    replace($("softphone-mute"), t(this.muted ? "softphone.unmute" : "softphone.mute"));
    // The call control hangs up any call the server knows of; a call it does not (nothing
    // to control there) is hung up here.
    $("softphone-hangup").hidden = !(this.call === "talking" && this.callPanelState() === "none");
    $("softphone-retry").hidden = !["no_microphone", "unreachable", "not_registered", "failed"].includes(this.state);
    for (const button of $("softphone-keypad").querySelectorAll("button")) button.disabled = this.call !== "talking";
    if (!this.call) $("softphone-dtmf-sent").textContent = "";
  }
}
