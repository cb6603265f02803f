"""Return visits over the API: the script as the agent reads it, the answers, the result."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from callcenter.api.schemas.common import Id, StrictModel, text
from callcenter.crm.vocabulary import RiskProfile
from callcenter.outbound.return_visit import ComplaintRoute, Question, ReturnVisitScript, Words
from callcenter.outbound.return_visit_service import Answers, ReturnVisitRecord, ScriptView

# Question ids are the script's (lower-case words): an unknown one is named back in the error.
QuestionId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
MAX_QUESTIONS = 50


class WordsOut(BaseModel):
    zh: str
    en: str


class OptionOut(BaseModel):
    id: str
    text: WordsOut


class ProblemRouteOut(BaseModel):
    to: Literal["complaint", "branch_task"]
    category: str | None = Field(description="the complaint's category")


class QuestionOut(BaseModel):
    id: str
    kind: Literal["yes_no", "choice"]
    text: WordsOut = Field(description="with the client's risk profile when a follow-up is named")
    answers: list[str] = Field(description="the answers allowed: yes/no, or the options' ids")
    options: list[OptionOut]
    problems: dict[str, ProblemRouteOut] = Field(
        description="the answers that show a problem, and where each goes"
    )


class ReturnVisitScriptOut(BaseModel):
    version: str
    follow_up_id: int | None
    client_id: int | None
    risk_profile: RiskProfile | None = Field(description="the client's, when a follow-up is named")
    risk_profile_words: WordsOut | None
    questions: list[QuestionOut]

    @classmethod
    def of(cls, view: ScriptView) -> ReturnVisitScriptOut:
        script, profile = view.script, view.risk_profile
        return cls(
            version=script.version,
            follow_up_id=view.follow_up_id,
            client_id=view.client_id,
            risk_profile=profile,
            risk_profile_words=None if profile is None else _words(script.risk_profiles[profile]),
            questions=[_question_out(script, q, profile) for q in script.questions],
        )


def _words(words: Words) -> WordsOut:
    return WordsOut(zh=words.zh, en=words.en)


def _question_out(
    script: ReturnVisitScript, question: Question, profile: RiskProfile | None
) -> QuestionOut:
    return QuestionOut(
        id=question.id,
        kind=question.kind,
        text=WordsOut(
            zh=script.text(question, "zh", profile), en=script.text(question, "en", profile)
        ),
        answers=list(question.answers),
        options=[OptionOut(id=o.id, text=_words(o.text)) for o in question.options],
        problems={
            answer: ProblemRouteOut(
                to=route.to, category=route.category if isinstance(route, ComplaintRoute) else None
            )
            for answer, route in question.problems.items()
        },
    )


class ReturnVisitIn(StrictModel):
    interaction_id: Id | None = Field(
        default=None, description="the call the visit was made in: your own, with this client"
    )
    answers: Annotated[
        dict[QuestionId, Annotated[str, text(40)]], Field(max_length=MAX_QUESTIONS)
    ] = Field(description="question id -> answer: yes/no, or the chosen option's id")

    def to_answers(self) -> Answers:
        return Answers(self.answers, self.interaction_id)


class ProblemOut(BaseModel):
    question_id: str
    answer: str
    to: Literal["complaint", "branch_task"]
    category: str | None
    complaint_id: int | None = Field(description="the complaint opened for it")
    task_id: int | None = Field(description="the branch's task (a follow-up)")


class ReturnVisitOut(BaseModel):
    id: int
    follow_up_id: int
    client_id: int
    interaction_id: int | None
    agent_id: int
    script_version: str
    answers: dict[str, str]
    problems: list[ProblemOut]
    complaint_ids: list[int]
    task_id: int | None
    outcome: str = Field(description="the follow-up's: completed, or problem_found: <questions>")
    at: dt.datetime

    @classmethod
    def of(cls, record: ReturnVisitRecord) -> ReturnVisitOut:
        return cls(
            id=record.id,
            follow_up_id=record.follow_up_id,
            client_id=record.client_id,
            interaction_id=record.interaction_id,
            agent_id=record.agent_id,
            script_version=record.script_version,
            answers=dict(record.answers),
            problems=[
                ProblemOut(
                    question_id=p.question_id,
                    answer=p.answer,
                    to=p.to,
                    category=p.category,
                    complaint_id=p.complaint_id,
                    task_id=p.task_id,
                )
                for p in record.problems
            ],
            complaint_ids=list(record.complaint_ids),
            task_id=record.task_id,
            outcome=record.outcome,
            at=record.at,
        )
