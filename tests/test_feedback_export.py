"""The feedback loop: votes in the Discord store -> `ragbot feedback export` draft rows -> a person fills
them in -> `ragbot eval --qa` (which refuses rows still of type "draft", naming them)."""

from __future__ import annotations

import json

import pytest

from bot.discord_bot.feedback import FeedbackStore
from tests.helpers import ROOT

GOOD = "From which city did Interfax report Lavrov's comments about restarting the Geneva talks?"
BAD = "How long was the cease-fire proposed in the resolution that was blocked?"
MIXED = "Who blocked the cease-fire resolution?"
REFUSED = "How old is Lavrov?"


@pytest.fixture
def voted(tmp_path, engine):
    """A Discord store with three answers: 👍, 👎 and one of each."""
    path = tmp_path / "discord.sqlite3"
    store = FeedbackStore(path)
    good, bad, mixed = (store.add(engine.answer(q), user_id=1) for q in (GOOD, BAD, MIXED))
    store.vote(good, 7, 1)
    store.vote(bad, 7, -1)
    store.vote(bad, 8, -1)
    store.vote(mixed, 7, 1)
    store.vote(mixed, 8, -1)
    refused = engine.answer(REFUSED)
    assert not refused.answerable
    store.vote(store.add(refused, user_id=2), 7, 1)  # a refusal voted 👍: exported with --all only
    store.close()
    return path


def rows_of(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_export_writes_the_thumbs_down_answers_as_drafts(run_cli, voted):
    result = run_cli("feedback", "export", "--db", str(voted))
    assert result.exit_code == 0, result.output
    rows = rows_of(result.stdout)
    assert [r["question"] for r in rows] == [BAD, MIXED]
    first = rows[0]
    assert first["type"] == "draft" and first["answers"] == [] and first["votes"] == {"up": 0, "down": 2}
    assert first["net_votes"] == -2 and first["bot_answer"] and first["asked_at"]
    article = (ROOT / "seeds" / "000_7f696d753bde9fea.txt").read_text(encoding="utf-8")
    assert first["cited"] and all(article[c["start"] : c["end"]] == c["quote"] for c in first["cited"])
    assert first["evidence"] == [c["quote"] for c in first["cited"]]
    assert "2 voted 👎 answer(s) exported" in result.stderr


def test_export_all_and_since_and_out(run_cli, voted, tmp_path):
    out = tmp_path / "drafts.jsonl"
    result = run_cli("feedback", "export", "--db", str(voted), "--all", "--out", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    exported = rows_of(out.read_text(encoding="utf-8"))
    assert [r["question"] for r in exported] == [GOOD, BAD, MIXED, REFUSED]
    assert [r["bot_refused"] for r in exported] == [False, False, False, True] and exported[-1]["cited"] == []
    again = run_cli("feedback", "export", "--db", str(voted), "--all", "--out", str(out))
    assert again.exit_code == 2 and "exists" in again.stderr  # nothing overwritten
    assert run_cli("feedback", "export", "--db", str(voted), "--since", "2999-01-01").stdout == ""
    bad = run_cli("feedback", "export", "--db", str(voted), "--since", "yesterday")
    assert bad.exit_code == 2 and "not a date" in bad.stderr


def test_export_without_a_store_says_where_it_looked(run_cli, tmp_path):
    result = run_cli("feedback", "export", "--db", str(tmp_path / "none.sqlite3"))
    assert result.exit_code == 2 and "no Discord store" in result.stderr
    assert not (tmp_path / "none.sqlite3").exists()


def test_eval_refuses_drafts_and_accepts_them_filled_in(run_cli, voted, tmp_path):
    drafts = tmp_path / "drafts.jsonl"
    run_cli("feedback", "export", "--db", str(voted), "--out", str(drafts))
    refused = run_cli("eval", "--qa", str(drafts), "--out", str(tmp_path / "r1"))
    assert refused.exit_code == 2
    assert "2 row(s) still of type 'draft'" in refused.stderr and "line 1 (discord-2)" in refused.stderr
    rows = rows_of(drafts.read_text(encoding="utf-8"))
    rows[0].update(type="factoid", answers=["seven-day"], evidence=["seven-day cease-fire"])
    rows[1].update(type="factoid", answers=["China"], evidence=["blocked by Russian Federation and China"])
    drafts.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    done = run_cli("eval", "--qa", str(drafts), "--out", str(tmp_path / "r2"), "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["meta"]["n"] == 2
