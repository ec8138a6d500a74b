"""The answerability judge: question analysis, features, the judge file, short answers, confidence, refusals."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from retrieval import Engine, Judge, JudgeFileError, Settings, analyse_question
from retrieval.answering.features import constraint_missing, features
from retrieval.answering.judge import DEFAULT_PATH
from tests.helpers import ARTICLE, ROOT

ARTICLE_TEXT = ARTICLE.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "question, answer_type, constraints",
    [
        ("How old is Lavrov?", "number", ["Lavrov"]),
        ("How many civilians died in Aleppo in 2016?", "number", ["Aleppo", "2016"]),
        ("When will the Geneva talks end?", "date", ["Geneva"]),
        ("Where was Kerry speaking?", "place", ["Kerry"]),
        ("Who is the president of Russia?", "person", ["Russia"]),
        ("Which news agency carried Lavrov's remarks?", "organisation", ["Lavrov's"]),
        ("Why did the U.S. accuse Russia of stalling?", "reason", ["U.S", "Russia"]),
        ("Was the resolution adopted on Dec. 5?", "yesno", ["Dec", "5"]),
        ("What did Lavrov and Kerry agree to restart?", "other", ["Lavrov", "Kerry"]),
        ("Which two countries blocked the resolution?", "place", []),  # "two" asks for the answer's size
        ('Who said rebels would be "eradicated"?', "person", ["eradicated"]),
    ],
)
def test_question_analysis(question, answer_type, constraints):
    analysis = analyse_question(question)
    assert analysis.answer_type == answer_type
    assert [c.text for c in analysis.constraints] == constraints


SENTENCE = (
    "Lavrov said in remarks carried by TASS on Thursday that 1,000 fighters left the area the U.S. backed in 2016."
)


@pytest.mark.parametrize(
    "question, missing",
    [
        ("Which agency carried Lavrov's remarks?", [False]),  # possessive matched
        ("Which agency carried Kerry's remarks?", [True]),  # entity swapped
        ("How many fighters left in 2016?", [False]),
        ("How many fighters left in 2015?", [True]),  # year changed
        ("Did 1000 fighters leave?", [False]),  # "1,000" = "1000"
        ("What did the United States back?", [False]),  # "U.S." = "United States"
        ("What did Russian officials say?", [True]),
    ],
)
def test_constraints_are_matched_after_normalisation(question, missing):
    assert constraint_missing(analyse_question(question), SENTENCE) == missing


def _features(question: str, sentence: str) -> dict[str, float]:
    return features(
        analyse_question(question), sentence, sentence, score=0.6, dense=0.6, overlap=0.6, bm25=1.0, others=[0.4],
        doc_freq=lambda w: 1, n_docs=20,
    )  # fmt: skip


def test_a_swapped_entity_or_a_missing_value_shows_in_the_features():
    right = _features("Which agency carried Lavrov's remarks?", SENTENCE)
    swapped = _features("Which agency carried Putin's remarks?", SENTENCE)
    assert right["missing_entity_idf"] == 0 and swapped["missing_entity_idf"] > 0
    assert _features("How old is Lavrov?", "Lavrov spoke in Hamburg.")["value_missing"] == 1
    assert _features("How many fighters left?", SENTENCE)["value_missing"] == 0


def test_the_judge_file_loads_with_numpy_alone():
    code = "import sys; from retrieval import Judge; Judge.load(); print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"
    judge = Judge.load()
    assert 0 < judge.refusal_threshold <= judge.confident_threshold <= 1


@pytest.mark.parametrize(
    "content, why",
    [(None, "is missing"), ("{not json", "cannot be read"), ('{"features": ["score"]}', "is not a judge file"),
     ('{"features": ["score"], "mean": [0], "scale": [1, 2], "coef": [1], "intercept": 0, "refusal_threshold": 0.2,'
      ' "confident_threshold": 0.5}', "lengths do not match")],
)  # fmt: skip
def test_a_missing_or_corrupt_judge_file_names_the_file_and_the_fit_command(tmp_path, content, why):
    path = tmp_path / "judge.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(JudgeFileError) as raised:
        Judge.load(path)
    assert str(path) in str(raised.value) and why in str(raised.value)
    assert "python -m bot.evaluation.judge_fit" in str(raised.value)
    assert raised.value.exit_code == 1


def test_ask_with_a_corrupt_judge_file_exits_1_with_the_message(tmp_path, article_store, monkeypatch):
    from click.testing import CliRunner

    import retrieval.answering.judge as judge_module
    from bot.cli import cli

    bad = tmp_path / "judge.json"
    bad.write_text("{broken", encoding="utf-8")
    monkeypatch.setattr(judge_module, "DEFAULT_PATH", bad)
    monkeypatch.setenv("RAGBOT_CHROMA_PATH", str(article_store))
    result = CliRunner().invoke(cli, ["ask", "Who spoke in Hamburg?"])
    assert result.exit_code == 1
    assert str(bad) in result.output and "judge_fit" in result.output


def test_a_refit_on_a_fixed_sample_is_deterministic():
    from bot.evaluation.judge_data import Example
    from bot.evaluation.judge_fit import FEATURES, fit

    def sample() -> list[Example]:
        out = []
        for i in range(40):
            feats = {f: ((i * 7 + k * 3) % 11) / 10 for k, f in enumerate(FEATURES)}
            out.append(Example(str(i), "q", ("a",) if i % 3 else (), "seeds", str(i % 5), features=feats,
                               label=bool(i % 3) and feats["score"] > 0.3))  # fmt: skip
        return out

    first, second = fit(sample()), fit(sample())
    assert repr(first) == repr(second)
    assert first[2].shape == (len(FEATURES),)


def _questions() -> list[str]:
    rows = [json.loads(line) for line in (ROOT / "seeds" / "qa.jsonl").read_text(encoding="utf-8").splitlines()]
    return [r["question"] for r in rows if r.get("question")]


def test_every_short_answer_is_an_exact_span_inside_the_first_quote(engine):
    seen = 0
    for question in _questions():
        answer = engine.answer(question)
        assert 0.0 <= answer.confidence <= 1.0
        short = answer.short_answer
        if not answer.answerable:
            assert short is None
            continue
        if short is None:
            continue
        seen += 1
        first = answer.citations[0]
        assert ARTICLE_TEXT[short.start : short.end] == short.text
        assert first.start <= short.start < short.end <= first.end
        assert answer.to_json()["short_answer"] == {"text": short.text, "source": short.source,
                                                    "start": short.start, "end": short.end}  # fmt: skip
    assert seen >= 20


@pytest.mark.parametrize(
    "unanswerable, twin",
    [
        ("How old is Lavrov?", "Which news agency carried Lavrov's remarks?"),
        ("How many civilians died in Aleppo in 2016?",
         "How long was the cease-fire proposed in the resolution that was blocked?"),
        ("What did the French president call a disgrace?", "What did the German chancellor call a disgrace?"),
        ("On which day of the week did the six Western leaders meet Putin?",
         "When will Russian and US officials meet?"),
    ],
)  # fmt: skip
def test_near_topic_unanswerable_questions_are_refused_and_their_twins_answered(engine, unanswerable, twin):
    refused, answered = engine.answer(unanswerable), engine.answer(twin)
    assert not refused.answerable and refused.confidence < engine.thresholds[0]
    assert answered.answerable and answered.confidence >= engine.thresholds[0]


def test_the_refusal_threshold_setting_is_on_the_judge_scale(engine):
    question = "Which news agency carried Lavrov's remarks?"
    confidence = engine.answer(question).confidence
    strict = Engine(engine.settings.replace(refusal_threshold=min(1.0, confidence + 0.01)),
                    engine.index)  # fmt: skip
    assert not strict.answer(question).answerable
    assert Settings.of(refusal_threshold=0.5).refusal_threshold == 0.5


@pytest.mark.timeout(600)
def test_the_wheel_ships_the_judge_file(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("ragbot-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        shipped = json.loads(zf.read("retrieval/answering/judge.json"))
    assert shipped == json.loads(Path(DEFAULT_PATH).read_text(encoding="utf-8"))
