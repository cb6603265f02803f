// The return visit's script (回访话术) in "My work": once the client of a return visit was
// reached, the agent asks the script's questions and records the answers (docs/return-visits.md).
// The questions are the server's (GET /api/return-visits/script?follow_up_id=: both
// languages, the client's risk profile filled into the question that names it); the page shows
// them in its own language, one radio button per allowed answer, and sends the answers with the
// call's interaction (POST /api/follow-ups/{id}/return-visit). Recording them completes the
// follow-up; an answer that shows a problem opens a complaint or a task for the client's
// branch on the server, and the page says what was opened. Whether an answer is a problem is
// the server's to decide: the page does not mark any.

import { get, post } from "./api.js";
import { el } from "./dom.js";
import { language, t } from "./i18n.js";

/** The script's words in the page's language ({zh, en}). */
function words(text) {
  return language() === "en" ? text.en : text.zh;
}

/** The script for a return visit, its client's risk profile in it (the read is audited). */
export function loadScript(followUpId) {
  return get(`/return-visits/script?follow_up_id=${encodeURIComponent(followUpId)}`);
}

/** Record the visit: every question's answer, in the call ``interactionId`` (or none). */
export function recordVisit(followUpId, interactionId, answers) {
  const body = { answers };
  if (interactionId) body.interaction_id = interactionId;
  return post(`/follow-ups/${encodeURIComponent(followUpId)}/return-visit`, body);
}

/** An answer's words: yes/no in the page's dictionary, a choice's from the script. */
function answerWords(question, answer) {
  if (question.kind === "yes_no") return t(answer === "yes" ? "work.answer_yes" : "work.answer_no");
  const option = question.options.find((o) => o.id === answer);
  return option ? words(option.text) : answer;
}

/**
 * The questions as a form. ``answers`` (question id -> answer) is the caller's state, kept
 * across re-renders and read on submit; ``onSubmit()`` is called once every question has an
 * answer (else the first one without is pointed at, in the page's language).
 */
export function scriptForm(script, answers, onSubmit) {
  const questions = script.questions.map((question, index) => {
    const choices = question.answers.map((answer) => {
      const id = `work-q-${question.id}-${answer}`;
      return el("label", { class: "check" },
        el("input", {
          type: "radio", name: `work-q-${question.id}`, value: answer, id,
          "data-testid": id, checked: answers[question.id] === answer,
        }),
        el("span", {}, answerWords(question, answer)));
    });
    return el("fieldset", { class: "work-question", "data-testid": "work-question", dataset: { questionId: question.id } },
      el("legend", {}, `${index + 1}. ${words(question.text)}`),
      el("div", { class: question.kind === "yes_no" ? "work-answers inline" : "work-answers" }, choices));
  });
  const profile = script.risk_profile_words
    ? el("p", { class: "muted", "data-testid": "work-visit-profile" }, t("work.visit_risk_profile", { profile: words(script.risk_profile_words) }))
    : null;
  const form = el("form", { id: "work-visit", class: "work-visit", "data-testid": "work-visit", dataset: { version: script.version } },
    el("h3", {}, t("work.visit_title")),
    profile,
    questions,
    el("div", { class: "buttons" },
      el("button", { type: "submit", id: "work-visit-save", class: "primary", "data-testid": "work-visit-save" }, t("work.visit_save"))));
  form.addEventListener("change", (event) => {
    const input = event.target;
    if (input.type === "radio" && input.name.startsWith("work-q-")) answers[input.name.slice(7)] = input.value;
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const missing = script.questions.find((q) => !(q.id in answers));
    if (missing) {
      const first = form.querySelector(`input[name="work-q-${missing.id}"]`);
      first.setCustomValidity(t("work.visit_answer_all"));
      first.reportValidity();
      first.setCustomValidity("");
      return;
    }
    onSubmit();
  });
  return form;
}

/** What recording the visit did, for the panel's notice: saved, and what each problem
 * opened (a complaint's id, the branch's task), by the question's number in the script. */
export function visitResult(script, record) {
  const number = (id) => script.questions.findIndex((q) => q.id === id) + 1;
  if (!record.problems.length) return t("work.visit_saved");
  return [
    t("work.visit_problems"),
    el("ul", { class: "work-problems" }, record.problems.map((p) => p.complaint_id
      ? el("li", { "data-testid": "work-visit-complaint", dataset: { complaintId: String(p.complaint_id) } },
          t("work.visit_complaint", { n: number(p.question_id), id: p.complaint_id }))
      : el("li", { "data-testid": "work-visit-task", dataset: { taskId: String(p.task_id ?? "") } },
          t("work.visit_task", { n: number(p.question_id), id: p.task_id ?? "" })))),
  ];
}
