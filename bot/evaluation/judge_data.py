"""Labelled examples for fitting the answerability judge: real questions, hard negatives, their features.

Sources: a JSONL Q&A set answered over its documents (seeds/ by default), and optionally a SQuAD v2.0
file answered over its own contexts (one temporary collection per source, as `ragbot eval` does).
Each example is one question with the features of the engine's best sentence (`judge_features`)
and a label: the question is answerable and the engine's extractive answer holds a gold answer
(graded as `ragbot eval` grades). Hard negatives (training only, never measured) are unanswerable
variants of answerable questions: one named entity swapped for a name from another document that
the answering document lacks, or one number or year changed to a value the document lacks.
Does not fit anything (judge_fit.py) and never writes the configured store.
"""

from __future__ import annotations

import json
import random
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from retrieval import (
    Engine,
    Settings,
    Turn,
    analyse_question,
    clean_question,
    judge_features,
    read_text,
    sentence_spans,
    temporary_index,
)

from .dataset import LIST, load_jsonl
from .metrics import answer_correct


@dataclass
class Example:
    qid: str
    question: str
    answers: tuple[str, ...]
    corpus: str  # "seeds" | "squad"
    group: str  # fold unit: a JSONL row/conversation id, or a SQuAD article title
    kind: str = "real"  # real | real-followup | neg-entity | neg-number
    all_items: bool = False  # a list question: every gold item must be in the answer
    history: tuple[str, ...] = ()  # earlier questions of a conversation
    document: str = ""  # the text that answers it (SQuAD: its paragraph; JSONL: all documents)
    features: dict[str, float] = field(default_factory=dict)
    answer: str = ""
    label: bool = False

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def jsonl_examples(path: Path) -> list[Example]:
    out: list[Example] = []
    for item in load_jsonl(path):
        group = item[0].id.split("#")[0]
        asked: list[str] = []
        for unit in item:
            kind = "real-followup" if unit.followup else "real"
            out.append(Example(unit.id, unit.question, unit.answers, "seeds", group, kind, unit.type == LIST,
                               tuple(asked)))  # fmt: skip
            asked.append(unit.question)
    return out


def squad_examples(path: Path) -> tuple[list[Example], list[str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    out: list[Example] = []
    contexts: list[str] = []
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            contexts.append(paragraph["context"])
            for qa in paragraph["qas"]:
                golds = () if qa.get("is_impossible") else tuple(dict.fromkeys(a["text"] for a in qa["answers"]))
                out.append(Example(qa["id"], qa["question"], golds, "squad", article["title"],
                                   document=paragraph["context"]))  # fmt: skip
    return out, contexts


def _names(texts: Sequence[str]) -> set[str]:
    """Capitalised names in `texts` (not sentence-initial, never written in lower case there)."""
    joined = " ".join(texts)
    found: set[str] = set()
    for text in texts:
        for s, e in sentence_spans(text):
            for c in analyse_question(text[s:e]).constraints:
                name = re.sub(r"['’]s$", "", c.text)
                if c.kind != "entity" or len(name) < 3 or not re.fullmatch(r"[A-Z][\w'’.\- ]+", name):
                    continue
                if re.search(r"\b" + re.escape(name.split()[0].lower()) + r"\b", joined):
                    continue  # also a common word
                found.add(name)
    return found


def hard_negatives(examples: Sequence[Example], names: dict[str, list[str]], seed: int = 13) -> list[Example]:
    """Unanswerable twins of answerable questions; `names[corpus]`: names from other documents."""
    rng = random.Random(seed)
    out: list[Example] = []
    for ex in examples:
        if not ex.answerable or ex.history:
            continue
        analysis = analyse_question(ex.question)
        pool = [n for n in names.get(ex.corpus, []) if n not in ex.document]
        entities = [c for c in analysis.constraints if c.kind == "entity"]
        if entities and pool:
            c = rng.choice(entities)
            new = rng.choice(pool) + ("'s" if c.text.endswith(("'s", "’s")) else "")
            text = ex.question[: c.start] + new + ex.question[c.end :]
            out.append(Example(ex.qid + "~entity", text, (), ex.corpus, ex.group, "neg-entity", document=ex.document))
        numbers = [c for c in analysis.constraints if c.kind in ("year", "number")]
        for c in numbers[:1]:
            m = re.search(r"\d[\d,]*", c.text)
            if not m:
                continue
            value = int(m.group(0).replace(",", ""))
            for _ in range(20):
                other = value + rng.choice([-1, 1]) * rng.randint(1, 40 if value > 1000 else max(2, value))
                if other > 0 and str(other) not in ex.document:
                    text = ex.question[: c.start] + c.text[: m.start()] + str(other) + c.text[m.end() :]
                    text += ex.question[c.end :]
                    out.append(Example(ex.qid + "~number", text, (), ex.corpus, ex.group, "neg-number",
                                       document=ex.document))  # fmt: skip
                    break
    return out


def answer_all(engine: Engine, examples: Sequence[Example]) -> None:
    """Fill each example's features, extractive answer and label, with the engine the bot uses."""
    answers: dict[str, str] = {}
    for ex in examples:
        base = ex.qid.split("#")[0]
        history = [Turn(q, answers.get(f"{base}#{i}", "")) for i, q in enumerate(ex.history, start=1)]
        found = engine.retrieve(clean_question(ex.question), history)
        ex.features = judge_features(found)
        ex.answer = engine.extractive(ex.question, found).answer if found.sentences else ""
        answers[ex.qid] = ex.answer
        ex.label = ex.answerable and answer_correct(ex.answer, ex.answers, all_items=ex.all_items)


def build(settings: Settings, qa: Path, docs: Path, squad: Path | None) -> Iterator[Example]:
    """Every labelled example (real questions first, then hard negatives), answered and featurised."""
    seeds = jsonl_examples(qa)
    doc_texts = [read_text(p) for p in sorted(docs.glob("*.txt"))]  # decoded as ingest decodes them
    for ex in seeds:
        ex.document = " ".join(doc_texts)
    squad_rows: list[Example] = []
    contexts: list[str] = []
    if squad is not None:
        squad_rows, contexts = squad_examples(squad)
    names = {"seeds": sorted(_names(contexts)), "squad": sorted(_names(contexts))}
    negatives = hard_negatives(seeds + squad_rows, names)
    with temporary_index(settings, [docs]) as index:
        answer_all(Engine(index.settings, index), [e for e in seeds + negatives if e.corpus == "seeds"])
        embedder = index.embedder
    if squad is not None:
        with tempfile.TemporaryDirectory(prefix="ragbot-fit-") as tmp:
            folder = Path(tmp)
            width = len(str(len(contexts)))
            for i, context in enumerate(contexts, start=1):
                (folder / f"context-{i:0{width}d}.txt").write_text(context, encoding="utf-8")
            with temporary_index(settings, [folder], embedder=embedder) as index:
                answer_all(Engine(index.settings, index), [e for e in squad_rows + negatives if e.corpus == "squad"])
    yield from seeds + squad_rows + negatives
