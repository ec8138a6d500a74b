"""`ragbot bench`'s fresh processes: wall time and peak RSS of a cold `ragbot ask`, and of the textbook peer.

The peer (`tests/peers/textbook.py`, outside the package) is LangChain's textbook retrieval over the
same model: splitter 1000/200, an `Embeddings` adapter, langchain-chroma in memory, top 4. It runs
from a source checkout with the dev dependencies installed; elsewhere `textbook_command` says why
it cannot. Both run alternately in the same bench run, so the machine's load biases neither side
of their ratio. Leaves out the chat's time to its prompt (bench_chat.py).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from retrieval import Settings

TEXTBOOK = Path(__file__).resolve().parents[2] / "tests" / "peers" / "textbook.py"

# Runs the command and reports its wall time and peak RSS. A small launcher process is needed:
# a child forked straight from this (large) process would count this process's pages in its
# ru_maxrss until it execs.
_LAUNCHER = """
import json, os, subprocess, sys, time
t0 = time.perf_counter()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
err = p.stderr.read()
_, status, usage = os.wait4(p.pid, 0)
wall = time.perf_counter() - t0
code = os.waitstatus_to_exitcode(status)
print(json.dumps({"wall": wall, "rss_kib": usage.ru_maxrss, "code": code, "err": err.decode(errors="replace")[-2000:]}))
"""


def ragbot_command() -> list[str]:
    script = Path(sys.executable).parent / "ragbot"
    if script.exists():
        return [str(script)]
    found = shutil.which("ragbot")
    return [found] if found else [sys.executable, "-m", "bot"]


def textbook_command(settings: Settings, question: str) -> list[str] | str:
    """The peer's command line over the seeds folder, or why it cannot run here."""
    if not TEXTBOOK.is_file():
        return f"the textbook peer is not here ({TEXTBOOK}): run the bench from a source checkout"
    lacking = [m for m in ("langchain_chroma", "langchain_text_splitters") if importlib.util.find_spec(m) is None]
    if lacking:
        return f"the textbook peer needs {', '.join(lacking)}: pip install -e '.[dev]'"
    return [sys.executable, str(TEXTBOOK), question, str(settings.seeds_dir), settings.embedding_model]


def cold_env(target: Settings, work: Path) -> tuple[dict[str, str], Path]:
    """The environment and working folder (no .env there) of a fresh `ragbot` process on `target`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")}
    env.update(
        RAGBOT_CHROMA_PATH=str(target.chroma_path),
        RAGBOT_COLLECTION=target.collection,
        RAGBOT_EMBEDDING_MODEL=target.embedding_model,
        RAGBOT_SEEDS_DIR=str(target.seeds_dir),
    )
    cwd = work / "cold"
    cwd.mkdir(exist_ok=True)
    return env, cwd


def cold_run(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of `command` in a fresh process; RuntimeError when it fails."""
    out = subprocess.run(
        [sys.executable, "-I", "-c", _LAUNCHER, *command], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    report = json.loads(out.stdout)
    if report["code"] != 0:
        raise RuntimeError(f"`{' '.join(command[:3])} ...` failed with exit code {report['code']}: {report['err']}")
    return report["wall"], report["rss_kib"] / 1024  # ru_maxrss is in KiB on Linux
