"""The corpora `ragbot bench` measures on, built from the seeds folder.

- `seed_documents` and `questions`: the seeds' documents and the questions of seeds/qa.jsonl (a few
  fixed questions when there is no qa.jsonl);
- `article_copies`: copies of the seed documents with their paragraphs shuffled, so ingest is timed
  on passages shaped like the article's;
- `synthetic_passages` and `synthetic_store`: N passages of Zipf-distributed words over the
  article's vocabulary plus made-up words (so a question's words are common, as in a news archive),
  written by the core's `write_synthetic` into a local store that is built once (its build time
  recorded) and cached under the user's cache directory. The vectors are drawn without the
  embedder: unit vectors perturbed from the real vectors of the seeds' passages (`real_vectors`),
  so a million passages build in minutes; `SYNTHETIC_NOTE` says so in the bench's output.
Leaves out the timing (bench.py) and the writing itself (the core's `write_synthetic`).
"""

from __future__ import annotations

import json
import random
import re
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from retrieval import (
    STOPWORDS,
    Embedder,
    InputError,
    Passage,
    Settings,
    find_files,
    load_document,
    now_utc,
    split,
    write_synthetic,
)

CORPUS_VERSION = 3  # part of the cache folder's name: bump it when the passages change
VOCABULARY = 30_000
COMMON_RANKS = 3_000
PASSAGES_PER_DOC = 100
BUILD_BATCH = 5000
COLD_QUESTION = "From which city did Interfax report Lavrov's comments?"
FALLBACK_QUESTIONS = [
    COLD_QUESTION,
    "What preceded the capture of Aleppo's Old City?",
    "Who blocked the cease-fire resolution?",
    "What did Kerry and Lavrov agree on?",
]
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]

SYNTHETIC_NOTE = (
    "synthetic corpus: seeded generated text; vectors drawn without the embedder, unit vectors perturbed "
    "from the seeds' real passage vectors"
)
VECTOR_NOISE = 1.0  # expected norm of the noise added to a real passage vector (cosine to it ~0.7)

Say = Callable[[str], None]  # a progress note for the terminal


def local_store(settings: Settings, path: Path) -> Settings:
    """The settings of a local store at `path`, whatever RAGBOT_CHROMA_HOST says."""
    return settings.replace(chroma_path=path, chroma_host=None, collection="bench")


def seed_documents(settings: Settings) -> list[Path]:
    """The documents of the seeds folder; InputError when there is none."""
    if not settings.seeds_dir.is_dir():
        raise InputError(f"the bench needs the seeds folder ({settings.seeds_dir}): set RAGBOT_SEEDS_DIR")
    files, _ = find_files([settings.seeds_dir])
    if not files:
        raise InputError(f"no .txt, .md, .html, .pdf or .docx document in {settings.seeds_dir}")
    return files


def questions(settings: Settings) -> list[str]:
    """Every question (conversation turns included) of seeds/qa.jsonl, or FALLBACK_QUESTIONS."""
    qa = settings.seeds_dir / "qa.jsonl"
    if not qa.is_file():
        return FALLBACK_QUESTIONS
    out: list[str] = []
    for line in qa.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            out.extend(t["question"] for t in item.get("turns", [item]) if "question" in t)
    return out or FALLBACK_QUESTIONS


def article_copies(sources: Sequence[Path], folder: Path, passages: int) -> int:
    """Write shuffled copies of the seed documents until they hold about `passages` passages."""
    docs = [load_document(p) for p in sources]
    rng = random.Random(7)
    folder.mkdir(parents=True)
    written = copy = 0
    while written < passages:
        doc = docs[copy % len(docs)]
        paras = [p for p in re.split(r"\n\s*\n|\n", doc.text) if p.strip()]
        rng.shuffle(paras)
        text = f"Copy {copy}: {doc.title}\n\n" + "\n\n".join(paras) + "\n"
        path = folder / f"copy-{copy:05d}.txt"
        path.write_text(text, encoding="utf-8")
        written += len(split(load_document(path)))
        copy += 1
    return written


def _vocabulary(sources: Sequence[Path], rng: np.random.Generator, size: int) -> tuple[list[str], np.ndarray]:
    """Words ranked for a Zipf law: stopwords first, then the article's content words at random
    ranks among the next COMMON_RANKS (so a question's words are common, as in a news archive),
    then made-up words."""
    text = " ".join(load_document(p).text for p in sources)
    words = list(dict.fromkeys(w for w in re.findall(r"[^\W\d_]+", text.lower()) if len(w) > 1))
    stop = [w for w in words if w in STOPWORDS] + sorted(STOPWORDS - set(words))
    content = [w for w in words if w not in STOPWORDS]
    syllables = np.array(SYLLABLES)
    made_up: set[str] = set()
    while len(made_up) < size - len(content):
        picks = syllables[rng.integers(0, len(syllables), size=(size, 4))]
        cut = rng.integers(2, 5, size=size)
        made_up.update("".join(row[:c]) for row, c in zip(picks, cut, strict=True))
    made = sorted(made_up)[: size - len(content)]
    rng.shuffle(made)
    common = content + made[: max(0, COMMON_RANKS - len(content))]
    rng.shuffle(common)
    vocab = stop + common + made[len(common) - len(content) :]
    ranks = np.arange(1, len(vocab) + 1, dtype=np.float64)
    weights = 1.0 / (ranks + 2.7)  # Zipf-Mandelbrot, exponent 1
    return vocab, weights / weights.sum()


def synthetic_passages(n: int, sources: Sequence[Path], seed: int = 11) -> Iterator[Passage]:
    """Passages of a few sentences (~200 characters, like the article's), PASSAGES_PER_DOC to a document."""
    rng = np.random.default_rng(seed)
    vocab, p = _vocabulary(sources, rng, VOCABULARY)
    lengths = np.clip(rng.normal(30, 12, size=n).astype(int), 6, 70)
    draws = rng.choice(len(vocab), size=int(lengths.sum()), p=p)
    stops = rng.random(int(lengths.sum())) < 1 / 14  # a sentence ends after ~14 words
    at = 0
    for i, length in enumerate(lengths):
        words = [vocab[j] for j in draws[at : at + length]]
        ends = stops[at : at + length]
        at += length
        for j in range(1, length - 1):
            if ends[j]:
                words[j] += "."
                words[j + 1] = words[j + 1].capitalize()
        text = words[0].capitalize() + " " + " ".join(words[1:]) + "."
        doc, para = divmod(i, PASSAGES_PER_DOC)
        source = f"synthetic/{doc:05d}.txt"
        start = para * 1000
        yield Passage(f"{source}#{para}", source, f"Synthetic report {doc}", para + 1, start, start + len(text), text)


def real_vectors(settings: Settings, embedder: Embedder) -> np.ndarray:
    """The embedder's vectors of the seed documents' passages (the basis the synthetic vectors perturb)."""
    texts = [p.text for f in seed_documents(settings) for p in split(load_document(f))]
    return np.asarray(embedder.embed_array(texts), dtype=np.float32)


def _store_folder(embedder: Embedder, n: int) -> Path:
    from platformdirs import user_cache_dir

    model = re.sub(r"[^A-Za-z0-9._-]+", "_", embedder.name)[-60:]
    return Path(user_cache_dir("ragbot")) / "bench" / f"synthetic-{n}-v{CORPUS_VERSION}-{model}"


def build_seconds(target: Settings) -> float | None:
    """How long building the synthetic store of `target` took (None for a store built without the record)."""
    marker = target.chroma_path.parent / "complete"
    try:
        return float(json.loads(marker.read_text(encoding="utf-8"))["build_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def synthetic_store(settings: Settings, embedder: Embedder, n: int, progress: Say | None = None) -> Settings:
    """A local store of `n` synthetic passages, built once and cached under the user's cache directory."""
    folder = _store_folder(embedder, n)
    target = local_store(settings, folder / "store")
    if (folder / "complete").is_file():
        return target
    if progress:
        progress(f"building the synthetic corpus of {n:,} passages (once) in {folder}")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    batches = 0

    def written(count: int) -> None:
        nonlocal batches
        batches += 1
        if progress and batches % 4 == 0:
            progress(f"  {count:,} / {n:,} passages")

    t0 = time.perf_counter()
    basis = real_vectors(settings, embedder)
    passages = synthetic_passages(n, seed_documents(settings))
    write_synthetic(
        target, passages, embedder, batch_size=BUILD_BATCH, progress=written, basis=basis, noise=VECTOR_NOISE
    )
    built = {"built_at": now_utc(), "build_s": round(time.perf_counter() - t0, 1)}
    (folder / "complete").write_text(json.dumps(built) + "\n", encoding="utf-8")
    return target
