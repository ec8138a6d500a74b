"""`ragbot ask --json`: every outcome is JSON on stdout (errors too); `ask -` skips blank lines."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from bot.cli import cli
from tests.helpers import ROOT

SCHEMA = json.loads((ROOT / "tests" / "answer.schema.json").read_text(encoding="utf-8"))
INTERFAX_Q = "Where did Interfax report from?"
DISGRACE_Q = "What did the German chancellor call a disgrace?"


def ragbot(args: list[str], store: Path, stdin: str | None = None):
    env = {"RAGBOT_CHROMA_PATH": str(store), "RAGBOT_SEEDS_DIR": str(ROOT / "seeds"), "RAGBOT_LLM_MODEL": ""}
    return CliRunner().invoke(cli, args, input=stdin, env=env, catch_exceptions=False)


def rows(stdout: str) -> list[dict]:
    objects = [json.loads(line) for line in stdout.splitlines()]
    for obj in objects:
        jsonschema.Draft202012Validator(SCHEMA).validate(obj)
    return objects


@pytest.fixture
def broken_store(tmp_path, monkeypatch) -> Path:
    """A store path that is a file: no store can be opened there (a runtime failure, exit code 1)."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "store"
    path.write_text("my notes, not a store\n")
    return path


@pytest.mark.parametrize(
    ("question", "code", "message"),
    [("", 2, "empty"), ("   ", 2, "empty"), ("z" * 2001, 2, "limit is 2000")],
)
def test_a_bad_question_is_a_json_error_object(store_copy, tmp_path, monkeypatch, question, code, message):
    """Item: `ask --json ""` printed no JSON, only a stderr line."""
    monkeypatch.chdir(tmp_path)
    result = ragbot(["ask", "--json", question], store_copy)
    assert result.exit_code == code
    (obj,) = rows(result.stdout)
    assert obj == {"question": question, "error": obj["error"]} and message in obj["error"]
    assert result.stderr == f"ragbot: {obj['error']}\n"  # the usual one line for a person, too


def test_a_store_that_cannot_be_opened_is_a_json_error_object(broken_store):
    result = ragbot(["ask", "--json", INTERFAX_Q], broken_store)
    assert result.exit_code == 1
    (obj,) = rows(result.stdout)
    assert set(obj) == {"question", "error"} and obj["question"] == INTERFAX_Q and str(broken_store) in obj["error"]
    assert broken_store.read_text() == "my notes, not a store\n"


def test_ask_json_lines_with_a_broken_store_get_an_error_object_each(broken_store):
    result = ragbot(["ask", "--json", "-"], broken_store, f"{INTERFAX_Q}\n\n{DISGRACE_Q}\n")
    assert result.exit_code == 1
    objects = rows(result.stdout)
    assert [o["question"] for o in objects] == [INTERFAX_Q, DISGRACE_Q]
    assert all(str(broken_store) in o["error"] for o in objects)
    too_long = ragbot(["ask", "--json", "-"], broken_store, f"{INTERFAX_Q}\n{'y' * 2001}\n")
    assert too_long.exit_code == 2  # bad input is still reported as such
    assert "2000" in rows(too_long.stdout)[1]["error"]
    without_json = ragbot(["ask", "-"], broken_store, f"{INTERFAX_Q}\n")
    assert without_json.exit_code == 1 and without_json.stdout == ""
    assert without_json.stderr.startswith("ragbot: ") and without_json.stderr.count("\n") == 1


@pytest.mark.parametrize("as_json", [True, False])
def test_blank_lines_are_skipped_not_bad_lines(store_copy, tmp_path, monkeypatch, as_json):
    """Item: blank lines in `ask --json -` counted as bad lines, so the run exited 2."""
    monkeypatch.chdir(tmp_path)
    stdin = f"\n{INTERFAX_Q}\n\n   \n\t\r\n{DISGRACE_Q}\n\n"
    result = ragbot(["ask", *(["--json"] if as_json else []), "-"], store_copy, stdin)
    assert result.exit_code == 0, result.output
    if as_json:
        objects = rows(result.stdout)
        assert [o["question"] for o in objects] == [INTERFAX_Q, DISGRACE_Q]
        assert "Hamburg" in objects[0]["answer"]
    else:
        assert result.stdout.count("Sources") == 2 and result.stderr == ""


def test_a_bad_setting_is_a_json_error_object_too(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from bot.cli import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAGBOT_TOP_K", "lots")
    result = CliRunner().invoke(cli, ["ask", "--json", "Who spoke?"])
    assert result.exit_code == 2
    (line,) = [x for x in result.stdout.splitlines() if x.strip()]
    obj = json.loads(line)
    assert obj["question"] == "Who spoke?" and "RAGBOT_TOP_K" in obj["error"]
