"""The `ragbot` command line: ask (single, batch, conversation), chat, ingest, sources, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from bot.cli import cli
from tests.helpers import ROOT

SCHEMA = json.loads((ROOT / "tests" / "answer.schema.json").read_text(encoding="utf-8"))
ANSWER_KEYS = {
    "schema_version",
    "question",
    "answer",
    "answerable",
    "mode",
    "model",
    "note",
    "citations",
    "closest",
    "retrieved",
    "timings_ms",
}


@pytest.fixture
def run(run_cli):
    """The CLI against a private copy of the ingested article (conftest.run_cli)."""
    return run_cli


def _validate(obj: dict) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(obj)


def test_ask_json_follows_the_contract(run):
    result = run("ask", "--json", "Which news agency carried Lavrov's remarks?")
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout)
    _validate(obj)
    assert ANSWER_KEYS <= set(obj)
    assert obj["schema_version"] == 1 and obj["mode"] == "extractive" and obj["model"] is None
    assert obj["answerable"] is True and obj["closest"] is None
    assert [c["n"] for c in obj["citations"]] == list(range(1, len(obj["citations"]) + 1))
    text = Path(ROOT / "seeds" / "000_7f696d753bde9fea.txt").read_text(encoding="utf-8")
    for c in obj["citations"]:
        assert text[c["start"] : c["end"]] == c["quote"]
        assert f"[{c['n']}]" in obj["answer"]
    assert "TASS" in obj["citations"][0]["quote"]
    assert len(obj["retrieved"]) == 5
    assert set(obj["timings_ms"]) == {"retrieve", "generate", "total"}


def test_ask_json_refusal_follows_the_contract(run):
    result = run("ask", "--json", "-k", "3", "What is a good recipe for hummus?")
    assert result.exit_code == 0
    obj = json.loads(result.stdout)
    _validate(obj)
    assert obj["answerable"] is False and obj["citations"] == [] and obj["closest"]["quote"]
    assert len(obj["retrieved"]) == 3


def test_ask_human_output_shows_sources(run):
    result = run("ask", "Where did Interfax report from?")
    assert result.exit_code == 0
    assert "Hamburg" in result.stdout and "Sources" in result.stdout and "[1]" in result.stdout


def test_ask_batch_from_stdin_keeps_order_and_reports_bad_lines(run):
    lines = "Where did Interfax report from?\n\nWhat did the German chancellor call a disgrace?\n" + "y" * 2500 + "\n"
    result = run("ask", "--json", "-", input=lines)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 3  # the blank line is skipped
    for row in rows:
        _validate(row)
    assert "Hamburg" in rows[0]["answer"]
    assert "humanitarian corridors" in rows[1]["answer"]
    assert "2000" in rows[2]["error"]
    assert result.exit_code == 2  # every line answered; the bad ones make the exit code say so


def test_ask_conversation_resolves_follow_ups_and_blank_line_resets(run):
    lines = (
        "Who said opposition fighters would be eradicated?\nWhich agency carried his remarks?\n"
        "\nWhich agency carried his remarks?\n"
    )
    result = run("ask", "--json", "--conversation", "-", input=lines)
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 3
    assert "Lavrov" in rows[0]["answer"]
    assert "TASS" in rows[1]["answer"]
    assert rows[2]["question"] == "Which agency carried his remarks?"


@pytest.mark.parametrize(("question", "message"), [("   ", "empty"), ("z" * 2001, "limit is 2000")])
def test_bad_questions_exit_2_with_a_clear_message(run, question, message):
    result = run("ask", question)
    assert result.exit_code == 2
    assert message in result.stderr and result.stdout == ""


def test_chat_through_stdin(run):
    script = (
        "Who said opposition fighters would be eradicated?\nWhich agency carried his remarks?\n"
        "/sources\n/reset\n\nquit\n"
    )
    result = run("chat", input=script)
    assert result.exit_code == 0
    out = result.stdout
    assert "Lavrov" in out and "TASS" in out
    assert "¶" in out  # /sources shows passages in full
    assert "Conversation reset." in out and out.rstrip().endswith("bye")


def test_chat_survives_bad_input_and_eof(run):
    result = run("chat", input="x" * 2500 + "\nWhere did Interfax report from?\n")
    assert result.exit_code == 0
    assert "limit is 2000" in result.stdout and "Hamburg" in result.stdout


def test_ingest_missing_path_and_unknown_files(run, tmp_path):
    missing = run("ingest", str(tmp_path / "nope"))
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    (tmp_path / "notes.xlsx").write_bytes(b"PK\x03\x04")
    (tmp_path / "notes.txt").write_text("The ferry leaves at noon.", encoding="utf-8")
    ok = run("ingest", str(tmp_path / "notes.xlsx"), str(tmp_path / "notes.txt"))
    assert ok.exit_code == 0
    assert "skipped" in ok.stderr and "notes.xlsx" in ok.stderr
    assert "1 new" in ok.stdout
    listing = run("sources")
    assert "notes.txt" in listing.stdout and "000_7f696d753bde9fea.txt" in listing.stdout


def test_invalid_setting_exits_2_naming_it(run, monkeypatch):
    monkeypatch.setenv("RAGBOT_TOP_K", "lots")
    result = run("ask", "hello?")
    assert result.exit_code == 2
    assert "RAGBOT_TOP_K" in result.stderr


def test_ask_ingests_seeds_when_the_store_is_empty(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAGBOT_CHROMA_PATH", str(tmp_path / "fresh"))
    monkeypatch.setenv("RAGBOT_SEEDS_DIR", str(ROOT / "seeds"))
    result = CliRunner().invoke(cli, ["ask", "--json", "Where did Interfax report from?"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "Hamburg" in json.loads(result.stdout)["answer"]


def test_corrupt_store_exits_1_and_says_rebuild(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "store"
    store.mkdir()
    (store / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    (store / "ragbot.catalog.sqlite3").write_bytes(b"garbage" * 100)
    monkeypatch.setenv("RAGBOT_CHROMA_PATH", str(store))
    result = CliRunner().invoke(cli, ["ask", "Where did Interfax report from?"], catch_exceptions=False)
    assert result.exit_code == 1
    assert "ingest --rebuild" in result.stderr


def test_python_dash_m_bot_is_the_same_cli(store_copy, tmp_path):
    env = {"RAGBOT_CHROMA_PATH": str(store_copy), "RAGBOT_SEEDS_DIR": str(ROOT / "seeds"), "PATH": "/usr/bin:/bin"}
    version = subprocess.run(
        [sys.executable, "-m", "bot", "--version"], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert version.returncode == 0 and "ragbot" in version.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "bot", "ask", ""], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert bad.returncode == 2 and "empty" in bad.stderr and "Traceback" not in bad.stderr
