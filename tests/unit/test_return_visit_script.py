"""The return-visit script: the packaged file loads and says what regulation asks; a bad file
is refused naming the file and the question; answers are checked against it."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from callcenter.crm.vocabulary import RiskProfile
from callcenter.outbound.return_visit import (
    SCRIPT_FILE,
    AnswerMissing,
    AnswerNotAllowed,
    BranchTaskRoute,
    ComplaintRoute,
    ReturnVisitScript,
    ScriptInvalid,
    UnknownQuestion,
    check_answers,
    load_script,
    outcome_of,
)

TAXONOMY = importlib.import_module(
    "callcenter.persistence.migrations.versions.0002_complaint_taxonomy"
).CATEGORIES

ALL_WELL = {
    "opened_by_self": "yes",
    "risk_disclosure": "understood",
    "risk_profile_known": "yes",
    "promised_returns": "no",
    "satisfied_with_opening": "yes",
}


@pytest.fixture(scope="module")
def script() -> ReturnVisitScript:
    return load_script()


def route(script: ReturnVisitScript, question_id: str, answer: str) -> object:
    question = script.question(question_id)
    assert question is not None, question_id
    return question.problems.get(answer)


# --- the packaged script ----------------------------------------------------------------------


def test_the_packaged_script_asks_what_regulation_requires(script: ReturnVisitScript) -> None:
    assert script.version
    assert {q.id for q in script.questions} >= set(ALL_WELL)
    for question in script.questions:
        assert question.text.zh.strip()
        assert question.text.en.strip()


def test_impersonation_and_promised_returns_are_complaints_in_their_categories(
    script: ReturnVisitScript,
) -> None:
    impersonation = route(script, "opened_by_self", "no")
    promised = route(script, "promised_returns", "yes")
    assert isinstance(impersonation, ComplaintRoute)
    assert impersonation.category == "account.opening"
    assert isinstance(promised, ComplaintRoute)
    assert promised.category == "advice.misleading"
    assert isinstance(route(script, "satisfied_with_opening", "no"), BranchTaskRoute)
    # The good answers are no problem.
    assert all(route(script, q, a) is None for q, a in ALL_WELL.items())


def test_every_complaint_category_is_a_leaf_of_the_taxonomy(script: ReturnVisitScript) -> None:
    leaves = {code for code, parent, *_rest in TAXONOMY if parent is not None}
    categories = {
        r.category
        for q in script.questions
        for r in q.problems.values()
        if isinstance(r, ComplaintRoute)
    }
    assert categories
    assert categories <= leaves


@pytest.mark.parametrize("profile", list(RiskProfile))
def test_the_risk_question_shows_the_clients_profile(
    script: ReturnVisitScript, profile: RiskProfile
) -> None:
    question = script.question("risk_profile_known")
    assert question is not None
    for language in ("zh", "en"):
        said = script.risk_profiles[profile].in_language(language)
        text = script.text(question, language, profile)
        assert said in text
        assert "{" not in text
    assert "{risk_profile}" in script.text(question, "en", None)


# --- a bad file -------------------------------------------------------------------------------

GOOD = SCRIPT_FILE.read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "script.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def refused(path: Path) -> ScriptInvalid:
    with pytest.raises(ScriptInvalid) as caught:
        load_script(path)
    assert caught.value.error_id == "return-visit-script-invalid"
    assert caught.value.detail["file"] == str(path)
    assert str(path) in caught.value.message
    return caught.value


@pytest.mark.parametrize(
    ("change", "question", "words"),
    [
        # Unquoted, YAML reads no as false: not an answer.
        ('      "no":\n        to: complaint\n', "opened_by_self", 'quote "yes" and "no"'),
        ("category: account.opening", "opened_by_self", "category"),
        ("not_received:\n", "risk_disclosure", "does not allow"),
        ("{risk_profile}”", "risk_profile_known", "placeholder"),
        ("to: branch_task", "risk_disclosure", "to"),
    ],
)
def test_a_bad_question_is_named_with_the_file(
    tmp_path: Path, change: str, question: str, words: str
) -> None:
    bad = {
        '      "no":\n        to: complaint\n': "      no:\n        to: complaint\n",
        "category: account.opening": "category: Account Opening",
        "not_received:\n": "not_sent:\n",
        "{risk_profile}”": "{risk_level}”",
        "to: branch_task": "to: the_branch",
    }[change]
    assert change in GOOD
    error = refused(write(tmp_path, GOOD.replace(change, bad, 1)))
    assert any(f"question '{question}'" in e and words in e for e in error.detail["errors"]), (
        error.detail
    )


def test_a_missing_translation_names_the_question(tmp_path: Path) -> None:
    text = GOOD.replace("      en: Are you satisfied with the service", "      xx: Are you", 1)
    error = refused(write(tmp_path, text))
    assert any("question 'satisfied_with_opening'" in e for e in error.detail["errors"])


def test_duplicate_questions_and_missing_profiles_are_refused(tmp_path: Path) -> None:
    text = GOOD.replace("  - id: promised_returns", "  - id: opened_by_self", 1)
    text = text.replace("  speculative: {zh: 激进型, en: speculative}\n", "", 1)
    errors = " ".join(refused(write(tmp_path, text)).detail["errors"])
    assert "unique" in errors
    assert "speculative" in errors


@pytest.mark.parametrize("text", ["- just\n- a list\n", "version: [unclosed\n"])
def test_a_file_that_is_no_script_is_refused(tmp_path: Path, text: str) -> None:
    refused(write(tmp_path, text))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    refused(tmp_path / "nowhere.yaml")


# --- answers ----------------------------------------------------------------------------------


def test_good_answers_find_no_problem(script: ReturnVisitScript) -> None:
    assert check_answers(script, ALL_WELL) == ()
    assert outcome_of(()) == "completed"


def test_problems_are_found_in_the_scripts_order(script: ReturnVisitScript) -> None:
    answers = {
        **ALL_WELL,
        "satisfied_with_opening": "no",
        "opened_by_self": "no",
        "risk_disclosure": "not_received",
    }
    problems = check_answers(script, answers)
    assert [(p.question_id, p.answer) for p in problems] == [
        ("opened_by_self", "no"),
        ("risk_disclosure", "not_received"),
        ("satisfied_with_opening", "no"),
    ]
    assert [p.route.to for p in problems] == ["complaint", "complaint", "branch_task"]
    assert outcome_of([p.question_id for p in problems]) == (
        "problem_found: opened_by_self, risk_disclosure, satisfied_with_opening"
    )


def test_a_missing_answer_is_named(script: ReturnVisitScript) -> None:
    answers = {k: v for k, v in ALL_WELL.items() if k != "promised_returns"}
    with pytest.raises(AnswerMissing) as caught:
        check_answers(script, answers)
    assert caught.value.error_id == "return-visit-answer-missing"
    assert caught.value.detail["questions"] == ["promised_returns"]


def test_an_unknown_question_is_named(script: ReturnVisitScript) -> None:
    with pytest.raises(UnknownQuestion) as caught:
        check_answers(script, {**ALL_WELL, "favourite_colour": "yes"})
    assert caught.value.error_id == "return-visit-unknown-question"
    assert caught.value.detail["questions"] == ["favourite_colour"]


@pytest.mark.parametrize(
    ("question", "answer"),
    [("opened_by_self", "maybe"), ("risk_disclosure", "yes"), ("promised_returns", "Yes")],
)
def test_an_answer_the_question_does_not_allow_is_refused(
    script: ReturnVisitScript, question: str, answer: str
) -> None:
    with pytest.raises(AnswerNotAllowed) as caught:
        check_answers(script, {**ALL_WELL, question: answer})
    assert caught.value.error_id == "return-visit-answer-not-allowed"
    assert caught.value.detail["questions"] == [question]
    expected = script.question(question)
    assert expected is not None
    assert caught.value.detail["allowed"] == {question: list(expected.answers)}
