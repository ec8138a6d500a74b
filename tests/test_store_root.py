"""Where the store is: found like git finds a repository (this folder, then its parents), created only
by `ingest` (or by `ask` filling a new store from seeds/ here); sources, `.env`, `seeds/` and the
Discord database relative to the root folder; what `sources` and `ask` say when there is no store or
its folder cannot be created."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.discord_bot import load_discord_settings
from retrieval.settings import load_settings
from tests.helpers import ARTICLE, ROOT

QUESTION = "From which city did Interfax report Lavrov's comments about the Geneva talks?"


@pytest.fixture
def clean(monkeypatch):
    """No RAGBOT_* variable from the developer's environment."""
    for name in list(os.environ):
        if name.upper().startswith("RAGBOT_"):
            monkeypatch.delenv(name)
    return monkeypatch


def ragbot(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def project(tmp_path, clean) -> Path:
    """A project folder with its documents in docs/ and a subfolder docs/notes/, nothing ingested yet."""
    root = tmp_path / "project"
    (root / "docs" / "notes").mkdir(parents=True)
    shutil.copy(ARTICLE, root / "docs" / "article.txt")
    return root


def test_find_root_looks_in_this_folder_then_its_parents(tmp_path):
    from retrieval.root import find_root, source_id, source_path

    (tmp_path / "a" / ".ragbot").mkdir(parents=True)
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    assert find_root(tmp_path / "a" / "b" / "c") == (tmp_path / "a").resolve()
    assert find_root(tmp_path / "a") == (tmp_path / "a").resolve()
    assert find_root(tmp_path) is None
    root = (tmp_path / "a").resolve()
    assert source_id(tmp_path / "a" / "b" / "x.txt", root) == "b/x.txt"
    assert source_id(tmp_path / "y.txt", root) == (tmp_path / "y.txt").resolve().as_posix()
    assert source_path("b/x.txt", root) == root / "b" / "x.txt"


def test_a_store_ingested_at_the_root_is_found_and_used_from_a_subfolder(project, clean):
    clean.chdir(project)
    first = ragbot("ingest", "docs")
    assert first.exit_code == 0, first.output
    assert (project / ".ragbot" / "chroma").is_dir()

    clean.chdir(project / "docs" / "notes")
    listing = ragbot("sources")
    assert listing.exit_code == 0, listing.output
    assert f"store: {project.resolve() / '.ragbot' / 'chroma'}, collection ragbot" in listing.stdout
    assert "docs/article.txt" in listing.stdout
    again = ragbot("ingest", "..")  # the same folder from below: the same ids, nothing new
    assert again.exit_code == 0 and "1 unchanged" in again.stdout, again.output
    answer = ragbot("ask", "--json", QUESTION)
    assert answer.exit_code == 0, answer.output
    (citation, *_) = json.loads(answer.stdout)["citations"]
    assert citation["source"] == "docs/article.txt"
    text = (project / citation["source"]).read_text(encoding="utf-8")
    assert text[citation["start"] : citation["end"]] == citation["quote"]
    assert not (project / "docs" / ".ragbot").exists() and not (project / "docs" / "notes" / ".ragbot").exists()


def test_env_seeds_and_the_discord_database_resolve_against_the_root(project, clean):
    (project / ".ragbot").mkdir()
    (project / ".env").write_text("RAGBOT_TOP_K=7\n", encoding="utf-8")
    clean.chdir(project / "docs" / "notes")
    root = project.resolve()
    settings = load_settings()
    assert settings.top_k == 7
    assert (settings.chroma_path, settings.seeds_dir) == (root / ".ragbot" / "chroma", root / "seeds")
    assert load_discord_settings().db_path == root / ".ragbot" / "discord.sqlite3"
    clean.setenv("RAGBOT_CHROMA_PATH", "elsewhere/store")  # set explicitly: used as given
    clean.setenv("RAGBOT_DISCORD_DB_PATH", "bot.sqlite3")
    assert load_settings().chroma_path == Path("elsewhere/store")
    assert load_discord_settings().db_path == Path("bot.sqlite3")


def test_no_store_and_no_seeds_creates_nothing_and_suggests_what_works(tmp_path, clean):
    clean.chdir(tmp_path)
    for args in (["sources"], ["ask", QUESTION]):
        result = ragbot(*args)
        assert result.exit_code == 1, result.output
        assert "run `ragbot ingest PATH` with a folder or file of your documents" in result.stderr
        assert "ingest` first" not in result.stderr
    bare = ragbot("ingest")
    assert bare.exit_code == 2 and "no such file" not in bare.stderr
    assert "no PATH given" in bare.stderr and "`ragbot ingest PATH`" in bare.stderr
    assert not (tmp_path / ".ragbot").exists()


def test_ask_says_what_it_ingested_when_it_fills_an_empty_store(tmp_path, clean):
    clean.chdir(tmp_path)
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    result = ragbot("ask", "--json", QUESTION)
    assert result.exit_code == 0, result.output
    assert "ingested seeds/: 1 document, 21 passages" in result.stderr.splitlines()
    assert (tmp_path / ".ragbot" / "chroma").is_dir()
    assert "ingested" not in ragbot("ask", "--json", QUESTION).stderr  # only when it filled the store


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("args", [["ask", QUESTION], ["ingest", "--rebuild"], ["ingest", "seeds"]])
def test_a_store_folder_that_cannot_be_created_is_not_called_damaged(tmp_path, clean, args):
    clean.chdir(tmp_path)
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    clean.setenv("RAGBOT_CHROMA_PATH", "/proc/ragbot-test/store")
    result = ragbot(*args)
    assert result.exit_code == 1, result.output
    (line,) = result.stderr.splitlines()
    assert "cannot create a folder in /proc" in line and "set RAGBOT_CHROMA_PATH to a folder you can write" in line
    assert "damaged" not in line and "--rebuild" not in line
