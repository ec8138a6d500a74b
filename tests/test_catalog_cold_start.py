"""Cold start: which heavy libraries a fresh `ragbot` process imports for --help and for an offline ask."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

PROBE = """
import json, sys
from bot.cli import cli
try:
    cli.main(sys.argv[1:], prog_name="ragbot")
except SystemExit as exc:
    code = exc.code
print("\\nMODULES " + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""
HEAVY = (
    *("chromadb", "onnxruntime", "litellm", "langchain_text_splitters", "tokenizers", "numpy"),
    *("trafilatura", "markdown_it"),  # document extractors: loaded by ingest only
)


def _imported(args: list[str], cwd: Path, **env: str) -> tuple[int, str, set[str]]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")}
    full_env.update(env)
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120
    )
    head, _, tail = out.stdout.rpartition("\nMODULES ")
    report = json.loads(tail)
    top = {m.split(".")[0] for m in report["modules"]}
    return report["code"], head, {h for h in HEAVY if h in top}


def test_help_imports_no_heavy_library(tmp_path):
    for args in (["--help"], ["bench", "--help"], ["ask", "--help"]):
        code, text, heavy = _imported(args, tmp_path)
        assert code == 0 and "Usage:" in text
        assert heavy == set(), f"ragbot {' '.join(args)} imported {heavy}"


def test_offline_ask_imports_the_store_and_embedder_but_no_llm_or_splitter(store_copy, tmp_path):
    code, text, heavy = _imported(
        ["ask", "--json", "Where did Interfax report from?"],
        tmp_path,
        RAGBOT_CHROMA_PATH=str(store_copy),
        RAGBOT_SEEDS_DIR=str(ROOT / "seeds"),
    )
    assert code in (0, None), text
    assert json.loads(text.strip().splitlines()[-1])["citations"]
    assert {"onnxruntime", "tokenizers"} <= heavy
    assert "chromadb" not in heavy  # the local store's vector copy answers (storage/snapshot.py)
    assert "litellm" not in heavy and "langchain_text_splitters" not in heavy
    assert "trafilatura" not in heavy and "markdown_it" not in heavy


def test_an_ask_on_a_store_without_its_vector_copy_leaves_one_for_the_next(store_copy, tmp_path):
    """A store written before vector copies existed (or whose copy is gone): the first ask opens Chroma
    and, as it ends, leaves the copy; the next ask never imports chromadb."""
    for old in store_copy.glob("*.vectors.*"):
        old.unlink()
    env = {"RAGBOT_CHROMA_PATH": str(store_copy), "RAGBOT_SEEDS_DIR": str(ROOT / "seeds")}
    first = _imported(["ask", "--json", "Where did Interfax report from?"], tmp_path, **env)
    assert first[0] in (0, None) and "chromadb" in first[2]
    assert list(store_copy.glob("*.vectors.json"))
    second = _imported(["ask", "--json", "Where did Interfax report from?"], tmp_path, **env)
    assert second[0] in (0, None) and "chromadb" not in second[2]
    a, b = (json.loads(run[1].strip().splitlines()[-1]) for run in (first, second))
    assert (a["answer"], [c["quote"] for c in a["citations"]]) == (b["answer"], [c["quote"] for c in b["citations"]])
