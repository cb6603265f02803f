// Queues: what each queue needs of its agents (skills), its service level, ring and wrap-up
// times, how long callers wait and where they overflow, priority points by tier and value
// class, and its own opening hours. PUT /api/queues/{name} creates a queue (no version) or
// replaces the configuration of the version read: an admin who saves a queue someone else
// changed since gets "stale-version" and reloads.

import { get, put } from "../../js/api.js";
import { $, el, replace } from "../../js/dom.js";
import { t, term } from "../../js/i18n.js";
import { check, checkedValues, clearErrors, errorText, fieldError, fillTable, options, showError, showSaved } from "./form.js";

const TIERS = ["standard", "silver", "gold", "vip"];
const VALUE_CLASSES = ["top_profit", "core_volume", "declining", "ordinary"];
const NUMBERS = ["service_level_seconds", "ring_seconds", "wrap_up_seconds", "advisor_wait_seconds", "max_wait_seconds"];
const WEEKDAYS = [1, 2, 3, 4, 5, 6, 7];

function hoursText(hours) {
  if (!hours) return t("adm.queue.always");
  const days = hours.weekdays.map((d) => t(`adm.weekday.${d}`)).join("");
  return `${hours.opens.slice(0, 5)}–${hours.closes.slice(0, 5)} ${days}`;
}

class Queues {
  page = "queues";
  list = [];
  editing = null;

  init({ canChange }) {
    this.canChange = canChange;
    const form = $("queue-form");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    form.elements.namedItem("has_hours").addEventListener("change", () => this.showHours());
    $("queues-new").addEventListener("click", () => this.edit(null));
  }

  async load() {
    try {
      this.list = await get("/queues");
      replace($("queues-error"));
    } catch (error) {
      replace($("queues-error"), errorText(error));
    }
    if (this.editing) this.editing = this.list.find((q) => q.name === this.editing.name) ?? null;
    this.render();
    if (!$("queue-form").dataset.filled) this.fill(this.editing);
  }

  render() {
    fillTable(
      $("queues-table"),
      ["adm.queue.name_short", "adm.queue.required_skills_short", "adm.queue.hours", "adm.queue.overflow", "adm.queue.service_level_seconds", "adm.version", ""],
      this.list.map((queue) =>
        el(
          "tr",
          { class: this.editing?.name === queue.name ? "selected" : null, dataset: { queue: queue.name } },
          el("td", {}, queue.name),
          el("td", {}, queue.required_skills.join(", ")),
          el("td", {}, hoursText(queue.hours)),
          el("td", {}, queue.overflow_queue ?? queue.overflow_node ?? ""),
          el("td", {}, `${queue.service_level_seconds} s`),
          el("td", {}, queue.version),
          el("td", {}, el("button", { type: "button", class: "link", onclick: () => this.edit(queue) }, t(this.canChange ? "adm.edit" : "adm.show"))),
        ),
      ),
    );
    replace($("queue-form-title"), this.editing ? t("adm.queue.edit_title", { name: this.editing.name, version: this.editing.version }) : t("adm.queue.new_title"));
    const form = $("queue-form");
    const overflow = form.elements.namedItem("overflow_queue");
    const chosen = overflow.value;
    options(overflow, [["", t("adm.queue.no_overflow")], ...this.list.filter((q) => q.name !== this.editing?.name).map((q) => [q.name, q.name])], chosen);
    for (const [id, group, codes] of [["queue-tiers", "tier", TIERS], ["queue-classes", "value_class", VALUE_CLASSES]]) {
      const values = Object.fromEntries(codes.map((code) => [code, form.elements.namedItem(`${group}:${code}`)?.value ?? ""]));
      replace($(id), codes.map((code) => el("label", {}, el("span", {}, term(group, code)), el("input", { name: `${group}:${code}`, type: "number", step: "1", placeholder: "0", value: values[code] }))));
    }
    const days = checkedValues(form, "weekdays");
    replace($("queue-weekdays"), WEEKDAYS.map((d) => check("weekdays", String(d), t(`adm.weekday.${d}`), days.includes(String(d)))));
  }

  edit(queue) {
    this.editing = queue;
    clearErrors($("queue-form"));
    this.render();
    this.fill(queue);
    $("queue-form").elements.namedItem(queue ? "required_skills" : "name").focus();
  }

  /** The form shows ``queue`` (null: a new queue with the defaults the API gives). */
  fill(queue) {
    const form = $("queue-form");
    const field = (name) => form.elements.namedItem(name);
    form.dataset.filled = "yes";
    field("name").value = queue?.name ?? "";
    field("name").readOnly = Boolean(queue);
    field("required_skills").value = (queue?.required_skills ?? []).join(", ");
    for (const name of NUMBERS) field(name).value = queue ? queue[name] : "";
    field("overflow_queue").value = queue?.overflow_queue ?? "";
    field("overflow_node").value = queue?.overflow_node ?? "";
    // A tier or class a queue leaves out has no points (the router counts it 0).
    for (const tier of TIERS) field(`tier:${tier}`).value = queue ? (queue.tier_priority[tier] ?? 0) : "";
    for (const vc of VALUE_CLASSES) field(`value_class:${vc}`).value = queue ? (queue.value_class_priority[vc] ?? 0) : "";
    field("announce_position").checked = queue ? queue.announce_position : true;
    field("has_hours").checked = Boolean(queue?.hours);
    field("opens").value = queue?.hours?.opens?.slice(0, 5) ?? "09:00";
    field("closes").value = queue?.hours?.closes?.slice(0, 5) ?? "17:30";
    const days = (queue?.hours?.weekdays ?? [1, 2, 3, 4, 5]).map(String);
    for (const box of form.querySelectorAll('input[name="weekdays"]')) box.checked = days.includes(box.value);
    this.showHours();
  }

  showHours() {
    $("queue-hours").hidden = !$("queue-form").elements.namedItem("has_hours").checked;
  }

  body() {
    const form = $("queue-form");
    const field = (name) => form.elements.namedItem(name);
    const body = {};
    if (this.editing) {
      body.version = this.editing.version;
      body.announce_every_seconds = this.editing.announce_every_seconds;
    }
    body.required_skills = field("required_skills").value.split(/[,，\s]+/).map((s) => s.trim()).filter(Boolean);
    for (const name of NUMBERS) if (field(name).value !== "") body[name] = Number(field(name).value);
    body.overflow_queue = field("overflow_queue").value || null;
    body.overflow_node = field("overflow_node").value.trim() || null;
    // A group left empty takes the API's defaults; in a group given, an empty field is 0.
    const points = (group, codes) => {
      const given = codes.filter((code) => field(`${group}:${code}`).value !== "");
      if (!given.length) return {};
      return Object.fromEntries(codes.map((code) => [code, Number(field(`${group}:${code}`).value || 0)]));
    };
    const tiers = points("tier", TIERS);
    const classes = points("value_class", VALUE_CLASSES);
    if (Object.keys(tiers).length) body.tier_priority = tiers;
    if (Object.keys(classes).length) body.value_class_priority = classes;
    body.announce_position = field("announce_position").checked;
    body.hours = field("has_hours").checked
      ? { opens: field("opens").value, closes: field("closes").value, weekdays: checkedValues(form, "weekdays").map(Number) }
      : null;
    return body;
  }

  async save() {
    const form = $("queue-form");
    const name = (this.editing?.name ?? form.elements.namedItem("name").value).trim();
    clearErrors(form);
    if (!/^[a-z][a-z0-9_]{0,49}$/.test(name)) {
      fieldError(form, "name", t("adm.queue.bad_name"));
      return;
    }
    try {
      const saved = await put(`/queues/${encodeURIComponent(name)}`, this.body());
      this.editing = saved;
      await this.load();
      this.fill(saved);
      showSaved(form, t("adm.queue.saved", { name: saved.name, version: saved.version }));
    } catch (error) {
      showError(form, error);
    }
  }
}

export const queues = new Queues();
