"""`ragbot eval` answers a JSONL set from a temporary store of its documents, never the configured store.

A user's store that also holds their own notes (which compete with the article's sentences) gives the
same metrics as no store at all, and is neither opened nor changed; the documents answered from are
recorded with their hashes in summary.json and report.md, and `--compare` warns when a baseline was
measured on other documents. The committed baseline records the seeds it was measured on.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.evaluation.dataset import load_jsonl
from bot.evaluation.metrics import METRIC_KEYS
from bot.evaluation.run import evaluate
from retrieval import Index, Settings, find_files, ingest
from tests.helpers import ARTICLE, ROOT

SMALL_SET = {"q02", "n04", "q08", "y06", "l06", "c02", "c06"}
NOTES = """My notes on the Syria talks
Kerry said at a meeting of foreign ministers in Paris that Assad had shown willingness to negotiate.
The news agency Reuters reported Lavrov's comments about restarting the Geneva talks from Vienna.
Russian and US officials would meet on Friday, Moscow said, to discuss a rebel withdrawal.
Lavrov and Kerry agreed to restart the Geneva talks on Sunday, according to my notes.
"""


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """tmp_path as the working directory: seeds/ (the article and a small set) and notes/ (the user's own)."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / ARTICLE.name).symlink_to(ARTICLE)
    lines = (ROOT / "seeds" / "qa.jsonl").read_text(encoding="utf-8").splitlines()
    (seeds / "qa.jsonl").write_text("".join(f"{x}\n" for x in lines if x and json.loads(x)["id"] in SMALL_SET))
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "notes.txt").write_text(NOTES, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for name in ("RAGBOT_CHROMA_PATH", "RAGBOT_CHROMA_HOST", "RAGBOT_SEEDS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RAGBOT_LLM_MODEL", "")
    return tmp_path


def _files(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_the_users_store_changes_nothing_and_is_not_touched(folder, embedder):
    user = Settings.of(chroma_path=folder / "user-store", seeds_dir=folder / "seeds")
    index = Index.open(user, create=True, embedder=embedder)
    ingest(user, [folder / "seeds", folder / "notes"], index=index)
    index.close()
    before = _files(folder / "user-store")
    none = user.replace(chroma_path=folder / "no-store")
    qa = [folder / "seeds" / "qa.jsonl"]

    with_notes = evaluate(user, qa, out=folder / "a").summaries["hybrid"]
    without = evaluate(none, qa, out=folder / "b").summaries["hybrid"]

    assert {k: with_notes[k]["value"] for k in METRIC_KEYS} == {k: without[k]["value"] for k in METRIC_KEYS}
    assert with_notes["outcomes"] == without["outcomes"] and all(without["outcomes"].values())
    assert _files(folder / "user-store") == before  # neither written nor (for SQLite) opened for writing
    assert not (folder / "no-store").exists()  # and no store is created where there was none
    cited = [json.loads(line) for line in (folder / "a" / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert all(c["source"].endswith(ARTICLE.name) for r in cited for c in r["citations"])


def test_the_documents_are_recorded_and_a_baseline_on_others_is_flagged(folder):
    def run(*args: str):
        return CliRunner().invoke(cli, ["eval", *args], catch_exceptions=False)

    first = run("--out", "first")
    assert first.exit_code == 0, first.output
    summary = json.loads((folder / "first" / "summary.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256(ARTICLE.read_bytes()).hexdigest()
    assert summary["meta"]["docs"] == ["seeds"]
    assert summary["meta"]["documents"] == [{"path": f"seeds/{ARTICLE.name}", "sha256": digest}]
    report = (folder / "first" / "report.md").read_text(encoding="utf-8")
    assert "## Documents" in report and f"| seeds/{ARTICLE.name} | `{digest}` |" in report

    same = run("--compare", "first", "--out", "same")
    assert same.exit_code == 0 and "warning" not in same.stderr
    assert "Warning" not in (folder / "same" / "report.md").read_text(encoding="utf-8")

    other = run("--compare", "first", "--out", "other", "--docs", "seeds", "--docs", "notes")
    assert other.exit_code == 0
    assert "warning: the documents differ from the baseline's (only in this run: notes/notes.txt)" in other.stderr
    assert "**Warning**: the documents differ" in (folder / "other" / "report.md").read_text(encoding="utf-8")
    paths = [d["path"] for d in json.loads((folder / "other" / "summary.json").read_text())["meta"]["documents"]]
    assert paths == ["notes/notes.txt", f"seeds/{ARTICLE.name}"]


def test_missing_documents_fail_before_answering(folder):
    result = CliRunner().invoke(cli, ["eval", "--docs", "absent", "--out", "out"], catch_exceptions=False)
    assert result.exit_code == 2 and "no such documents folder or file: absent" in result.stderr
    assert not (folder / "out").exists()


def test_the_committed_baseline_matches_the_seeds_and_the_set():
    baseline = json.loads((ROOT / "seeds" / "eval-baseline.json").read_text(encoding="utf-8"))
    files, _ = find_files([ROOT / "seeds"])
    hashes = sorted(hashlib.sha256(f.read_bytes()).hexdigest() for f in files)
    assert sorted(d["sha256"] for d in baseline["meta"]["documents"]) == hashes
    units = [u for item in load_jsonl(ROOT / "seeds" / "qa.jsonl") for u in item]
    assert baseline["meta"]["n"] == len(units)
    assert baseline["standalone_accuracy"]["n"] == sum(u.standalone_turn for u in units)
