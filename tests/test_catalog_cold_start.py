"""Cold start: which heavy libraries a fresh `ragbot` process imports for --help and for an offline ask."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT, ragbot_env

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
    *("pydantic", "rich"),  # chromadb's and litellm's validation; the terminal's progress bars and tables
)


def _imported(args: list[str], cwd: Path, **env: str) -> tuple[int, str, set[str]]:
    command = [sys.executable, "-c", PROBE, *args]
    out = subprocess.run(command, cwd=cwd, env=ragbot_env(**env), capture_output=True, text=True, timeout=120)
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
    assert "pydantic" not in heavy and "rich" not in heavy  # settings are msgspec's; JSON needs no Rich


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


def test_a_finished_command_flushes_its_output_runs_its_exit_handlers_and_keeps_its_exit_code(store_copy, tmp_path):
    """`main` ends a process that never imported chromadb with os._exit, after the exit handlers."""
    script = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('exit handlers ran', file=sys.stderr))\n"
        "from bot.cli import main\n"
        "main()\n"
    )
    env = ragbot_env(RAGBOT_CHROMA_PATH=str(store_copy), RAGBOT_SEEDS_DIR=str(ROOT / "seeds"), PYTHONPATH=str(ROOT))
    questions = ["Where did Interfax report from?", "x" * 2001, "Who blocked the resolution?"]
    out = subprocess.run(
        [sys.executable, "-c", script, "ask", "--json", "-"],
        input="\n".join(questions) + "\n",
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2, out.stderr  # the long line is bad input; the others were answered
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line["question"] for line in lines] == questions
    assert lines[0]["citations"] and "error" in lines[1] and lines[2]["citations"]
    assert out.stderr.rstrip().endswith("exit handlers ran")
