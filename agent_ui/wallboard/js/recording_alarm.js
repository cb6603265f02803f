// The recording alarm on the wallboard (issue 17, point 7; docs/recording.md, "Faults and
// alarms"): the recording storage is full or cannot be written, calls go on unrecorded. Read
// once when the page opens (GET /api/supervision/recording-alarm), then from each
// `recording.alarm` on the socket; drawn as a red bar at the top, in the page's language.

import { get } from "../../js/api.js";
import { $, replace } from "../../js/dom.js";
import { t } from "../../js/i18n.js";

/** Bytes as the bar shows them (KiB, MiB, GiB). */
function size(bytes) {
  if (bytes === null || bytes === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export class RecordingAlarmBar {
  constructor() {
    this.alarm = null; // the last known: {active, reason, since, calls_affected, free_bytes, ...}
    this.at = null; // when it was known (an envelope's `at`)
  }

  /** The alarm now, from the server; a socket message that came meanwhile is newer. */
  async load() {
    const alarm = await get("/supervision/recording-alarm");
    if (this.alarm === null) this.alarm = alarm;
    this.render();
  }

  /** A `recording.alarm` from the socket. */
  update(message) {
    this.alarm = message.data;
    this.at = message.at;
    this.render();
  }

  render() {
    const bar = $("recording-alarm");
    const alarm = this.alarm;
    bar.hidden = !(alarm && alarm.active);
    if (bar.hidden) return;
    const key = alarm.reason === "unwritable" ? "wb.rec_alarm_unwritable" : "wb.rec_alarm_disk_full";
    bar.dataset.reason = alarm.reason ?? "";
    replace(
      $("recording-alarm-text"),
      t(key, {
        since: alarm.since ? new Date(alarm.since).toLocaleString() : "–",
        count: alarm.calls_affected,
      }),
    );
    replace($("recording-alarm-free"), t("wb.rec_alarm_free", { free: size(alarm.free_bytes) }));
  }
}
