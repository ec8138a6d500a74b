"""Answerability features of one candidate sentence (in its passage) for one analysed question.

`features(...)` takes plain inputs and returns {name: float}; FEATURES lists the names in the
order judge.json stores them. Groups:
- retrieval: the engine's evidence score, dense cosine, IDF overlap, BM25 (normalised), and the
  margin/ratio to the next distinct candidate;
- coverage: IDF-weighted share of the question's focus terms in the sentence and in its passage,
  the missing IDF mass (normalised by the corpus' largest IDF), whether the highest-IDF focus term
  is absent, focus terms the corpus does not hold at all, the relation word present;
- constraints: share of the question's constraints (names, numbers, years, dates, quotes; matched
  after normalisation) absent from the sentence / the passage; a year or number absent;
- answer type: a fresh candidate of the expected type in the sentence (and in the passage),
  one-hot answer type;
- negation mismatch; the sentence's share of question words (a restatement); optional soft
  coverage is left out (MiniLM token vectors were not measured).
Leaves out: syntax, coreference across sentences, anything about the answer's correctness beyond
lexical evidence.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from retrieval.answering.normalise import normalised_tokens
from retrieval.answering.question import ANSWER_TYPES, QuestionAnalysis
from retrieval.answering.short_answer import candidates, expected_kinds
from retrieval.text import bm25_idf, stems, terms

if TYPE_CHECKING:
    from retrieval.answering.query import Retrieval

_NEG = re.compile(
    r"\b(?:not|never|no|none|nobody|nothing|neither|nor|without|cannot|refused|rejected|failed)\b|n['’]t\b", re.I
)

FEATURES = (
    "score", "dense", "overlap", "bm25", "margin", "ratio",
    "cov_sent", "cov_passage", "missing_idf", "top_term_absent", "unknown_terms", "relation_present",
    "cons_any", "cons_missing_sent", "cons_missing_passage", "num_missing", "entity_missing",
    "typed_fresh", "typed_fresh_passage", "restate", "neg_mismatch", "log_len",
    *(f"type_{t}" for t in ANSWER_TYPES),
    "entity_unknown", "unknown_share", "value_missing", "missing_entity_idf", "missing_focus_idf",
    "missing_focus_idf_sent",
)  # fmt: skip


def _same(a: str, b: str) -> bool:
    """Tokens match exactly, or one is a prefix of the other of at least 4 letters (Russia/Russian)."""
    if a == b:
        return True
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 4 and short.isalpha() and long.startswith(short) and len(long) - len(short) <= 3


def _contains(seq: list[str], key: tuple[str, ...]) -> bool:
    n = len(key)
    if n == 0:
        return False
    return any(all(_same(seq[i + j], key[j]) for j in range(n)) for i in range(len(seq) - n + 1))


def constraint_missing(analysis: QuestionAnalysis, text: str) -> list[bool]:
    """For each constraint, whether none of its normalised keys occurs in `text`."""
    toks = normalised_tokens(text)
    return [not any(_contains(toks, k) for k in c.keys) for c in analysis.constraints]


def features(
    analysis: QuestionAnalysis,
    sentence: str,
    passage: str,
    *,
    score: float,
    dense: float,
    overlap: float,
    bm25: float,
    others: Sequence[float],
    doc_freq: Callable[[str], int],
    n_docs: int,
) -> dict[str, float]:
    """Features of `sentence` (inside `passage`). `others`: evidence scores of the next distinct
    candidates, best first; `doc_freq(word)`: passages holding the word."""
    max_idf = bm25_idf(0, n_docs)

    def nidf(word: str) -> float:
        return bm25_idf(doc_freq(word), n_docs) / max_idf

    idf = {t.stem: nidf(t.word) for t in analysis.focus}
    total = sum(idf.values()) or 1.0
    sent_stems = set(stems(terms(sentence)))
    pass_stems = set(stems(terms(passage)))
    cov_sent = sum(w for s, w in idf.items() if s in sent_stems) / total
    cov_pass = sum(w for s, w in idf.items() if s in pass_stems) / total
    missing = sum(w for s, w in idf.items() if s not in sent_stems and s not in pass_stems)
    top = max(idf, key=lambda stem: idf[stem]) if idf else None
    miss_s = constraint_missing(analysis, sentence)
    miss_p = constraint_missing(analysis, passage)
    kinds_missing_num = [
        m for c, m in zip(analysis.constraints, miss_p, strict=True) if c.kind in ("year", "number", "date")
    ]
    kinds_missing_ent = [m for c, m in zip(analysis.constraints, miss_p, strict=True) if c.kind in ("entity", "quoted")]
    kinds = expected_kinds(analysis)
    if kinds:
        typed = any(k in kinds for _, _, k in candidates(analysis, sentence))
        typed_p = typed or any(k in kinds for _, _, k in candidates(analysis, passage))
    else:
        typed = typed_p = True
    q_stems = {t.stem for t in analysis.focus}
    sent_terms = stems(terms(sentence))
    restate = sum(s in q_stems for s in sent_terms) / max(len(sent_terms), 1)
    nxt = others[0] if others else 0.0
    out = {
        "score": score,
        "dense": dense,
        "overlap": overlap,
        "bm25": bm25,
        "margin": score - nxt,
        "ratio": nxt / score if score > 0 else 1.0,
        "cov_sent": cov_sent,
        "cov_passage": cov_pass,
        "missing_idf": missing,
        "top_term_absent": float(top is not None and top not in sent_stems and top not in pass_stems),
        "unknown_terms": float(sum(doc_freq(t.word) == 0 for t in analysis.focus)),
        "relation_present": float(
            not analysis.relation or analysis.relation in sent_stems or analysis.relation in pass_stems
        ),
        "cons_any": float(bool(analysis.constraints)),
        "cons_missing_sent": sum(miss_s) / len(miss_s) if miss_s else 0.0,
        "cons_missing_passage": sum(miss_p) / len(miss_p) if miss_p else 0.0,
        "num_missing": float(any(kinds_missing_num)),
        "entity_missing": float(any(kinds_missing_ent)),
        "typed_fresh": float(typed),
        "typed_fresh_passage": float(typed_p),
        "restate": restate,
        "neg_mismatch": float(analysis.negated != bool(_NEG.search(sentence))),
        "log_len": math.log(1 + len(sentence.split())),
    }
    ents = [c for c in analysis.constraints if c.kind in ("entity", "quoted", "year", "number", "date")]

    def known(word: str) -> bool:
        return any(doc_freq(w) > 0 for w in (word, word[:-1], word[:-2], word + "n") if len(w) > 2)

    out["entity_unknown"] = float(
        any(
            words and not any(known(w) for w in words)
            for words in ([w for w in re.findall(r"\w+", c.text.lower()) if len(w) > 2] for c in ents)
        )
    )

    ment = 0.0
    for c, m in zip(analysis.constraints, miss_p, strict=True):
        if m:
            words = [w for w in re.findall(r"\w+", c.text.lower()) if len(w) > 2] or [c.text.lower()]
            ment = max(ment, min(nidf(w) for w in words))
    out["missing_entity_idf"] = ment
    out["missing_focus_idf"] = max((nidf(t.word) for t in analysis.focus if t.stem not in pass_stems), default=0.0)
    out["missing_focus_idf_sent"] = max((nidf(t.word) for t in analysis.focus if t.stem not in sent_stems), default=0.0)
    out["unknown_share"] = sum(doc_freq(t.word) == 0 for t in analysis.focus) / max(len(analysis.focus), 1)
    # a number or a date asked for, and none in the sentence beyond the question's own
    out["value_missing"] = float(analysis.answer_type in ("number", "date") and not typed)
    for t in ANSWER_TYPES:
        out[f"type_{t}"] = float(analysis.answer_type == t)
    return out


def of_retrieval(found: Retrieval) -> dict[str, float]:
    """The features of a retrieval's best sentence (in its passage); {} when nothing was found."""
    if not found.sentences or found.analysis is None:
        return {}
    top = found.sentences[0]
    others = [s.score for s in found.sentences[1:] if s.text != top.text]
    bm25 = next((h.lexical for h in found.hits if h.passage.id == top.passage.id), 0.0)
    return features(
        found.analysis,
        top.text,
        top.passage.text,
        score=top.score,
        dense=top.dense,
        overlap=top.overlap,
        bm25=bm25,
        others=others,
        doc_freq=lambda w: found.doc_freq.get(w, 0),
        n_docs=found.n_docs,
    )
