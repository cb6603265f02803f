"""The return visit (回访): the script as data, the check of a client's answers, and the use
case that records them (docs/return-visits.md).

Every new account gets a call within 14 days of its opening (regulation: within a month)
that confirms the client opened it themselves and understood the risk disclosure and their
risk level. The questions, and where each answer that shows a problem goes (a complaint in
a category of the taxonomy, or a task for the client's branch), are data:
``return_visit_script.yaml`` next to this module, validated here when it is loaded (the file
and the question named in every error), as IVR flows are.

Recording a visit is one unit of work: check the answers, open a complaint for each problem
that goes to one and one branch task for those that go to the branch, store the answers,
complete the follow-up (``completed``, or ``problem_found: <question ids>``), audit. A
failure anywhere leaves nothing behind; a follow-up has one return visit, ever.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from callcenter.crm.vocabulary import RiskProfile
from callcenter.errors import InvalidInput

log = logging.getLogger(__name__)

SCRIPT_FILE = Path(__file__).with_name("return_visit_script.yaml")
PLACEHOLDER = "risk_profile"  # the one name a question's text may hold: {risk_profile}
YES_NO = ("yes", "no")
SUMMARY_MAX = 200  # a complaint's summary column; the summary is "zh / en"
REASON_MAX = 300  # a follow-up's reason column
# A branch task is due in two calendar days: the time the center gives itself to answer a
# written inquiry or a complaint (DOMAIN.md).
BRANCH_TASK_DAYS = 2
AUDIT_RECORD = "return_visit.record"
AUDIT_SCRIPT_VIEW = "return_visit.script_view"  # the script shown with a client's risk profile

Language = Literal["zh", "en"]
Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]


# --- the script -------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Words(_Strict):
    zh: str = Field(min_length=1, max_length=500)
    en: str = Field(min_length=1, max_length=500)

    def in_language(self, language: Language) -> str:
        return self.zh if language == "zh" else self.en


class _Route(_Strict):
    summary: Words

    @model_validator(mode="after")
    def _summary_fits(self) -> _Route:
        if len(self.summary_text) > SUMMARY_MAX:
            raise ValueError(f"summary: 'zh / en' is longer than {SUMMARY_MAX} characters")
        return self

    @property
    def summary_text(self) -> str:
        return f"{self.summary.zh} / {self.summary.en}"


class ComplaintRoute(_Route):
    """The problem is a complaint, filed under this leaf of the taxonomy."""

    to: Literal["complaint"]
    category: str = Field(pattern=r"^[a-z][a-z_]*\.[a-z][a-z_]*$", max_length=40)


class BranchTaskRoute(_Route):
    """The problem is the client's branch's to put right: a task for its staff."""

    to: Literal["branch_task"]


ProblemRoute = Annotated[ComplaintRoute | BranchTaskRoute, Field(discriminator="to")]


class Option(_Strict):
    id: Id
    text: Words


class Question(_Strict):
    id: Id
    kind: Literal["yes_no", "choice"]
    text: Words
    options: tuple[Option, ...] = ()
    problems: Mapping[str, ProblemRoute] = Field(default_factory=dict)

    @property
    def answers(self) -> tuple[str, ...]:
        """The answers allowed: yes or no, or one of the options' ids."""
        return YES_NO if self.kind == "yes_no" else tuple(o.id for o in self.options)

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        if self.kind == "yes_no" and self.options:
            raise ValueError("a yes_no question has no options")
        ids = [option.id for option in self.options]
        if self.kind == "choice" and len(ids) < 2:
            raise ValueError("a choice question has at least two options")
        if len(set(ids)) != len(ids):
            raise ValueError("option ids must be unique")
        if unknown := sorted(set(self.problems) - set(self.answers)):
            raise ValueError(f"problems for answers the question does not allow: {unknown}")
        for text in (self.text.zh, self.text.en):
            _check_placeholders(text)
        return self


def _check_placeholders(text: str) -> None:
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"text: {exc} (write a brace as {{{{ or }}}})") from None
    for _literal, name, spec, conversion in fields:
        if name is not None and (name != PLACEHOLDER or spec or conversion):
            raise ValueError(f"text: unknown placeholder {{{name}}}; only {{{PLACEHOLDER}}}")


class ReturnVisitScript(_Strict):
    version: str = Field(min_length=1, max_length=40)
    risk_profiles: Mapping[RiskProfile, Words]
    questions: tuple[Question, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> ReturnVisitScript:
        wrong: list[str] = []
        if missing := sorted(p.value for p in set(RiskProfile) - set(self.risk_profiles)):
            wrong.append(f"risk_profiles: no words for {', '.join(missing)}")
        ids = [question.id for question in self.questions]
        if duplicated := sorted({i for i in ids if ids.count(i) > 1}):
            wrong.append(f"question ids must be unique: {', '.join(duplicated)} twice")
        if wrong:
            raise ValueError("; ".join(wrong))
        return self

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def text(self, question: Question, language: Language, profile: RiskProfile | None) -> str:
        """The question as the agent reads it: with the client's risk profile when known,
        else with the placeholder left for the desk to fill."""
        text = question.text.in_language(language)
        if profile is None:
            return text
        return text.format_map({PLACEHOLDER: self.risk_profiles[profile].in_language(language)})


class ScriptInvalid(InvalidInput):
    error_id = "return-visit-script-invalid"

    def __init__(self, file: Path, errors: list[str]) -> None:
        super().__init__(f"{file}: {'; '.join(errors)}", file=str(file), errors=errors)


def load_script(path: Path = SCRIPT_FILE) -> ReturnVisitScript:
    """The script at ``path``; :class:`ScriptInvalid` names the file and, for each error, the
    question and the field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ScriptInvalid(path, [f"cannot read: {' '.join(str(exc).split())}"]) from exc
    if not isinstance(data, dict):
        raise ScriptInvalid(path, ["the file holds one mapping (version, questions...)"])
    try:
        return ReturnVisitScript.model_validate(data)
    except ValidationError as exc:
        raise ScriptInvalid(path, [_where(data, e) for e in exc.errors()]) from exc


def _where(data: dict[str, Any], error: Any) -> str:
    """pydantic's location (``questions.2.problems.no.complaint.category``) as the question's
    id and the field."""
    loc = list(error["loc"])
    message = str(error["msg"])
    if loc and loc[-1] == "[key]":
        # YAML reads an unquoted yes or no as a boolean (pydantic then names it 1 or 0).
        message += ' (answers are strings: quote "yes" and "no")'
    if len(loc) >= 2 and loc[0] == "questions" and isinstance(loc[1], int):
        questions = data.get("questions")
        raw = questions[loc[1]] if isinstance(questions, list) else None
        name = raw.get("id") if isinstance(raw, dict) else None
        field = ".".join(str(part) for part in loc[2:]) or "-"
        return f"question {name or f'#{loc[1] + 1}'!r}: {field}: {message}"
    return f"{'.'.join(str(part) for part in loc) or '-'}: {message}"


# --- answers ----------------------------------------------------------------------------------


class UnknownQuestion(InvalidInput):
    error_id = "return-visit-unknown-question"


class AnswerMissing(InvalidInput):
    error_id = "return-visit-answer-missing"


class AnswerNotAllowed(InvalidInput):
    error_id = "return-visit-answer-not-allowed"


@dataclass(frozen=True)
class Problem:
    """An answer that shows a problem, and where it goes."""

    question_id: str
    answer: str
    route: ComplaintRoute | BranchTaskRoute


def check_answers(script: ReturnVisitScript, answers: Mapping[str, str]) -> tuple[Problem, ...]:
    """The problems the answers show, in the script's order. Every question is answered, with
    an answer it allows, and nothing else: a half-done visit is not a visit."""
    if unknown := sorted(set(answers) - {q.id for q in script.questions}):
        raise UnknownQuestion(
            f"no question {', '.join(unknown)} in script {script.version}",
            field="answers",
            questions=unknown,
        )
    if missing := [q.id for q in script.questions if q.id not in answers]:
        raise AnswerMissing(
            f"no answer to {', '.join(missing)}", field="answers", questions=missing
        )
    refused = {q.id: list(q.answers) for q in script.questions if answers[q.id] not in q.answers}
    if refused:
        raise AnswerNotAllowed(
            f"an answer not allowed to {', '.join(refused)}",
            field="answers",
            questions=list(refused),
            allowed=refused,
        )
    return tuple(
        Problem(q.id, answers[q.id], q.problems[answers[q.id]])
        for q in script.questions
        if answers[q.id] in q.problems
    )


def outcome_of(question_ids: Sequence[str]) -> str:
    """The follow-up's outcome, from the questions whose answers showed a problem: what the
    reports count as a completed return visit."""
    if not question_ids:
        return "completed"
    return "problem_found: " + ", ".join(question_ids)
