// The browser phone's sound: the microphone (asked for once when the phone starts, so a
// denied or missing microphone is said at the start of the shift rather than at the first
// call), the chosen microphone and speaker, and the ring.

const CHOICE_KEY = "cc.desk.audio"; // {microphone, speaker}: device ids, kept per browser

/**
 * Why getUserMedia failed, as one of the page's words: ``denied`` (the person or the
 * browser's settings refused), ``missing`` (no microphone at all), ``busy`` (another program
 * holds it), ``gone`` (the chosen microphone is not there any more), ``insecure`` (the page is
 * not on https nor on this computer: browsers give no microphone then), or ``other``.
 */
export function microphoneProblem(error) {
  if (!navigator.mediaDevices?.getUserMedia) return "insecure";
  switch (error?.name) {
    case "NotAllowedError":
    case "PermissionDeniedError":
      return "denied";
    case "NotFoundError":
    case "DevicesNotFoundError":
      return "missing";
    case "NotReadableError":
    case "TrackStartError":
    case "AbortError":
      return "busy";
    case "OverconstrainedError":
      return "gone";
    case "SecurityError":
      return "insecure";
    default:
      return "other";
  }
}

export function loadChoice() {
  try {
    const saved = JSON.parse(localStorage.getItem(CHOICE_KEY) ?? "{}");
    return { microphone: saved.microphone ?? "", speaker: saved.speaker ?? "" };
  } catch {
    return { microphone: "", speaker: "" };
  }
}

export function saveChoice(choice) {
  localStorage.setItem(CHOICE_KEY, JSON.stringify(choice));
}

/** The audio constraint for the chosen microphone ("" : the system's default). */
export function microphoneConstraint(microphone) {
  return microphone ? { deviceId: { exact: microphone } } : true;
}

/** Ask for the microphone once and let it go: the answer is what matters (null: fine). */
export async function checkMicrophone(microphone) {
  if (!navigator.mediaDevices?.getUserMedia) return "insecure";
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: microphoneConstraint(microphone), video: false });
    for (const track of stream.getTracks()) track.stop();
    return null;
  } catch (error) {
    return microphoneProblem(error);
  }
}

/** The microphones and speakers ({id, label}); labels are empty until the microphone was allowed. */
export async function audioDevices() {
  const devices = (await navigator.mediaDevices?.enumerateDevices?.()) ?? [];
  const pick = (kind) =>
    devices.filter((d) => d.kind === kind && d.deviceId).map((d) => ({ id: d.deviceId, label: d.label }));
  return { microphones: pick("audioinput"), speakers: pick("audiooutput") };
}

/** Whether this browser can send a page's sound to a chosen speaker (setSinkId). */
export function canChooseSpeaker() {
  return typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;
}

/** Play ``element`` (the call's sound) on ``speaker``; "" is the system's default. */
export async function routeTo(element, speaker) {
  if (!canChooseSpeaker()) return;
  await element.setSinkId(speaker ?? "");
}

/**
 * The ring, made in the page (no sound file to fetch): the two tones of a phone's ring,
 * 2 s on and 4 s off, through the chosen speaker where the browser allows it. Browsers keep a
 * page silent until the person has clicked in it; the desk's login or "Start shift" is that
 * click, so the ring is heard (a page reloaded and never clicked since rings silently, and
 * still shows it).
 */
export class Ring {
  constructor() {
    this.context = null;
    this.timer = null;
    this.nodes = [];
    this.starts = 0; // a stop() while start() awaits the speaker must win over that start
  }

  async start(speaker) {
    this.stop();
    const run = this.starts;
    const Context = window.AudioContext ?? window.webkitAudioContext;
    if (!Context) return;
    this.context ??= new Context();
    if (speaker !== undefined && typeof this.context.setSinkId === "function") {
      await this.context.setSinkId(speaker).catch(() => null); // the default speaker then
    }
    await this.context.resume().catch(() => null);
    if (run !== this.starts) return; // answered, or hung up, meanwhile: no ring after all
    const burst = () => {
      const gain = this.context.createGain();
      gain.gain.value = 0.1;
      gain.connect(this.context.destination);
      const now = this.context.currentTime;
      this.nodes = [440, 480].map((frequency) => {
        const tone = this.context.createOscillator();
        tone.frequency.value = frequency;
        tone.connect(gain);
        tone.start(now);
        tone.stop(now + 2);
        return tone;
      });
    };
    burst();
    this.timer = setInterval(burst, 6000);
  }

  stop() {
    this.starts += 1;
    clearInterval(this.timer);
    this.timer = null;
    for (const tone of this.nodes) {
      try {
        tone.stop();
      } catch {
        // already stopped
      }
    }
    this.nodes = [];
  }
}
