"""`ragbot ask` and `ragbot chat` with a model on the loopback server; the offline path never loads litellm."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import jsonschema
import pytest
from click.testing import CliRunner
from rich.console import Console

from bot.chat import show_answer
from bot.cli import cli
from retrieval.engine import Final, TextDelta
from retrieval.schema import Answer
from tests.helpers import ROOT, ragbot_env
from tests.helpers.llm_server import LLMServer

pytestmark = pytest.mark.filterwarnings("ignore:Item .* is using the `ReadOnly` qualifier:UserWarning")

SCHEMA = json.loads((ROOT / "tests" / "answer.schema.json").read_text(encoding="utf-8"))
HAMBURG_Q = "From which city did Interfax report Lavrov's comments about the Geneva talks?"
KEY = "sk-cli-loopback-5d1e"


@pytest.fixture(scope="module")
def server():
    with LLMServer() as running:
        yield running


@pytest.fixture
def run(server, store_copy, tmp_path, monkeypatch):
    """Invoke the CLI in an empty folder with a copy of the article store and a loopback model."""
    server.reset()
    monkeypatch.chdir(tmp_path)

    def invoke(args: list[str], model: str = "grounded", input: str | None = None, **env: str):
        environ = {
            "RAGBOT_CHROMA_PATH": str(store_copy),
            "RAGBOT_SEEDS_DIR": str(ROOT / "seeds"),
            "RAGBOT_LLM_MODEL": f"openai/{model}",
            "RAGBOT_LLM_API_BASE": server.base_url,
            "RAGBOT_LLM_API_KEY": KEY,
            **env,
        }
        return CliRunner().invoke(cli, args, input=input, env=environ, catch_exceptions=False)

    return invoke


def test_ask_json_is_an_llm_answer(run, server):
    result = run(["ask", "--json", HAMBURG_Q])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    assert data["mode"] == "llm" and data["model"] == "openai/grounded" and data["answerable"]
    assert data["usage"]["prompt_tokens"] > 0 and data["dropped_citations"] == 0
    assert data["answer"].endswith("[1].") and "Hamburg" in data["citations"][0]["quote"]
    assert not server.requests[0].body.get("stream")  # --json never streams
    assert KEY not in result.output


def test_ask_shows_the_verified_answer_and_its_sources(run, server):
    result = run(["ask", "-k", "3", HAMBURG_Q], model="invent")
    assert result.exit_code == 0, result.output
    assert "Interfax reported from Hamburg [1]." in result.output
    assert "Vienna" not in result.output and "[9]" not in result.output
    assert "Sources" in result.output and "note: removed 1 citation" in result.output
    assert server.requests[0].body["stream"] is True


def test_ask_when_every_model_fails_prints_the_extractive_answer(run):
    result = run(["ask", "--json", HAMBURG_Q], model="error500", RAGBOT_LLM_FALLBACKS="openai/malformed")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["mode"] == "extractive" and data["model"] is None and data["answerable"]
    assert "openai/error500: server error (HTTP 500)" in data["note"] and "openai/malformed" in data["note"]
    assert "Traceback" not in result.output


def test_chat_condenses_follow_ups(run, server):
    lines = "Who said opposition fighters would be eradicated?\nWhich agency carried his remarks?\nquit\n"
    result = run(["chat"], input=lines)
    assert result.exit_code == 0, result.output
    prompts = [r.body["messages"][-1]["content"] for r in server.requests]
    assert len(prompts) == 3
    assert "Last question: Which agency carried his remarks?" in prompts[1]
    assert "User: Who said opposition fighters would be eradicated?" in prompts[1]
    assert result.output.count("Sources") == 2 and "bye" in result.output


def _answer(text: str) -> Answer:
    return Answer(question="q", answer=text, answerable=True, mode="llm", model="m", confidence=0.7)


def test_show_answer_streams_only_on_a_terminal():
    events = [TextDelta("Draft "), TextDelta("text"), TextDelta("Redo", restart=True), Final(_answer("Verified [1]."))]
    terminal = io.StringIO()
    answer = show_answer(Console(file=terminal, force_terminal=True, width=80), events, (0.2, 0.6))
    assert answer.answer == "Verified [1]."
    shown = terminal.getvalue()
    assert "Draft text" in shown and "Redo" in shown
    after_live = shown.rsplit("\x1b[2K", 1)[1]  # the live area is erased, then the verified answer drawn
    assert re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", after_live).strip() == "Verified [1].\nconfidence: high"
    piped = io.StringIO()
    show_answer(Console(file=piped, force_terminal=False, width=80), events, (0.2, 0.6))
    assert piped.getvalue() == "Verified [1].\nconfidence: high\n"  # an LLM answer has no short answer


def test_offline_ask_never_imports_litellm(store_copy, tmp_path):
    script = (
        "import sys\n"
        "from bot.cli import cli\n"
        "try:\n"
        "    cli(['ask', '--json', 'How long was the blocked cease-fire?'], prog_name='ragbot')\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print('litellm loaded' if 'litellm' in sys.modules else 'litellm not loaded', file=sys.stderr)\n"
    )
    env = ragbot_env(RAGBOT_CHROMA_PATH=str(store_copy), RAGBOT_SEEDS_DIR=str(ROOT / "seeds"), PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["mode"] == "extractive"
    assert "litellm not loaded" in done.stderr
