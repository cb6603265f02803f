// The CTI websocket (docs/events.md): one connection, reconnected with backoff, resumed after
// every (re)connect, answering the server's pings and watching its heartbeat.

import { serverClock } from "./api.js";

const SUBPROTOCOL = "cti.v1";
const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;
const SESSION_ENDED = 4401; // log in again
const BAD_ORIGIN = 4403; // this page may not connect: retrying changes nothing
const CLIENT_ERRORS = new Set([1003, 1009]); // our frames were refused: a bug, not a glitch
const SEEN_LIMIT = 500;

export class CtiSocket {
  /**
   * @param {object} handlers onMessage(msg), onStatus(status), onSessionEnded(),
   *   onRefused(code, reason)
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.ws = null;
    // Event numbers start at 1 again when the service restarts: they count within a run of the
    // service, its `epoch` (on every message). What was seen is kept for one epoch only.
    this.epoch = null;
    this.lastSeq = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.watchdog = null;
    this.heartbeatMs = 20_000;
    this.stopped = true;
    this.seen = new Set(); // (epoch, type, seq) of bus events already handled: resumes repeat pops
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.watchdog);
    if (this.ws) this.ws.close(1000, "logged out");
    this.ws = null;
  }

  send(message) {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws`, [SUBPROTOCOL]);
    this.ws = ws;
    this.status("connecting");
    ws.addEventListener("open", () => {
      this.attempt = 0;
      this.status("open");
      // Resume at once: the state as stored, and any pop still pending (a reloaded page).
      // The last seq is the epoch's we saw it in: a restarted server knows it is not its own.
      this.send({ type: "resume", epoch: this.epoch, last_seq: this.lastSeq ?? 0 });
      this.feedWatchdog();
    });
    ws.addEventListener("message", (event) => this.receive(event.data));
    ws.addEventListener("close", (event) => this.closed(ws, event));
  }

  receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return; // the server sends JSON only; a broken frame is not worth the connection
    }
    this.feedWatchdog();
    if (message.at) serverClock.observeEnvelope(message.at);
    if (typeof message.epoch === "string" && message.epoch !== this.epoch) this.newEpoch(message.epoch);
    switch (message.type) {
      case "ping":
        this.send({ type: "pong" });
        return;
      case "hello":
        this.heartbeatMs = (message.data?.heartbeat_seconds ?? 20) * 1000;
        this.feedWatchdog();
        break;
      default:
        break;
    }
    if (typeof message.seq === "number") {
      const key = `${message.epoch}:${message.type}:${message.seq}`;
      if (this.seen.has(key)) return; // already on screen (a resume sends pending pops again)
      this.seen.add(key);
      if (this.seen.size > SEEN_LIMIT) this.seen.delete(this.seen.values().next().value);
      this.lastSeq = Math.max(this.lastSeq ?? 0, message.seq);
    }
    this.handlers.onMessage(message);
  }

  /**
   * The service restarted (or this is the first connection): the seqs seen belong to another
   * run and name nothing in this one. Forget them, or the new run's seq 7 (a pop, a wrap-up)
   * is dropped as a repeat of the old run's seq 7. The resume that follows every connect
   * brings this run's state.
   */
  newEpoch(epoch) {
    this.epoch = epoch;
    this.seen.clear();
    this.lastSeq = null;
  }

  /** No frame for three heartbeats: the link is dead even if TCP has not noticed. */
  feedWatchdog() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.ws?.close(4000, "no heartbeat"), this.heartbeatMs * 3);
  }

  closed(ws, event) {
    if (ws !== this.ws) return; // an older socket
    clearTimeout(this.watchdog);
    this.ws = null;
    if (this.stopped) return;
    if (event.code === SESSION_ENDED) {
      this.status("closed");
      this.handlers.onSessionEnded();
      return;
    }
    if (event.code === BAD_ORIGIN || CLIENT_ERRORS.has(event.code)) {
      this.status("refused");
      this.handlers.onRefused(event.code, event.reason);
      return;
    }
    // Exponential backoff with full jitter, so a restarted server is not hit by every desk at
    // the same instant.
    const ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.attempt);
    const delay = FIRST_DELAY_MS / 2 + Math.random() * ceiling;
    this.attempt += 1;
    this.status("reconnecting");
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  status(value) {
    this.handlers.onStatus(value);
  }
}
