// Agents' skills and languages: each agent's and advisor's routing profile (GET /api/agents),
// replaced whole by PUT /api/agents/{id}/profile: skills with their levels (1 to 5), the
// languages they serve callers in, the queues they take.

import { get, put } from "../../js/api.js";
import { $, el, replace } from "../../js/dom.js";
import { t, term } from "../../js/i18n.js";
import { check, checkedValues, clearErrors, errorText, fieldError, fillTable, showError, showSaved } from "./form.js";

const LANGUAGES = ["zh", "en"];
const SKILL = /^([a-z][a-z0-9_]{0,49})\s*:\s*([1-5])$/;

export function skillsText(skills) {
  return Object.entries(skills).map(([skill, level]) => `${skill}:${level}`).join(", ");
}

/** "trading:3, funds:4" -> {trading: 3, funds: 4}; null and the bad parts when it does not
 * read. */
export function parseSkills(text) {
  const skills = {};
  const bad = [];
  for (const part of text.split(/[,，\s]+/).map((p) => p.trim()).filter(Boolean)) {
    const match = SKILL.exec(part.replace(/：/g, ":"));
    if (match) skills[match[1]] = Number(match[2]);
    else bad.push(part);
  }
  return bad.length ? { skills: null, bad } : { skills, bad };
}

class Agents {
  page = "agents";
  list = [];
  queues = [];
  editing = null;

  init({ canChange }) {
    this.canChange = canChange;
    $("agent-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
  }

  async load() {
    try {
      [this.list, this.queues] = await Promise.all([get("/agents"), get("/queues")]);
      replace($("agents-error"));
    } catch (error) {
      replace($("agents-error"), errorText(error));
    }
    if (this.editing) this.editing = this.list.find((a) => a.agent_id === this.editing.agent_id) ?? null;
    this.render();
  }

  render() {
    fillTable(
      $("agents-table"),
      ["adm.user.username", "adm.user.display_name", "adm.user.role", "adm.agent.skills_short", "adm.agent.languages", "adm.agent.queues", ""],
      this.list.map((agent) =>
        el(
          "tr",
          { class: this.editing?.agent_id === agent.agent_id ? "selected" : null, dataset: { username: agent.username } },
          el("td", {}, agent.username),
          el("td", {}, agent.display_name),
          el("td", {}, term("role", agent.role)),
          el("td", { class: "wrap", "data-testid": "skills" }, skillsText(agent.skills)),
          el("td", {}, agent.languages.map((lang) => term("ivr_language", lang)).join(", ")),
          el("td", { class: "wrap" }, agent.queues.join(", ")),
          el("td", {}, el("button", { type: "button", class: "link", onclick: () => this.edit(agent) }, t(this.canChange ? "adm.edit" : "adm.show"))),
        ),
      ),
    );
    this.renderForm(false);
  }

  edit(agent) {
    this.editing = agent;
    clearErrors($("agent-form"));
    this.render();
    this.renderForm(true);
    $("agent-form").elements.namedItem("skills").focus();
  }

  renderForm(fill) {
    const form = $("agent-form");
    const agent = this.editing;
    form.hidden = !agent;
    if (!agent) return;
    replace($("agent-form-title"), t("adm.agent.edit_title", { name: agent.display_name, username: agent.username }));
    const keep = fill ? null : { languages: checkedValues(form, "languages"), queues: checkedValues(form, "queues") };
    if (fill) form.elements.namedItem("skills").value = skillsText(agent.skills);
    const languages = keep?.languages ?? agent.languages;
    const queues = keep?.queues ?? agent.queues;
    replace($("agent-languages"), LANGUAGES.map((lang) => check("languages", lang, term("ivr_language", lang), languages.includes(lang))));
    replace($("agent-queues"), this.queues.map((q) => check("queues", q.name, q.name, queues.includes(q.name))));
  }

  async save() {
    const form = $("agent-form");
    clearErrors(form);
    const { skills, bad } = parseSkills(form.elements.namedItem("skills").value);
    if (!skills) {
      fieldError(form, "skills", t("adm.agent.bad_skills", { parts: bad.join(", ") }));
      return;
    }
    const body = { skills, languages: checkedValues(form, "languages"), queues: checkedValues(form, "queues") };
    try {
      this.editing = await put(`/agents/${this.editing.agent_id}/profile`, body);
      await this.load();
      this.renderForm(true);
      showSaved(form, t("adm.saved"));
    } catch (error) {
      showError(form, error);
    }
  }
}

export const agents = new Agents();
