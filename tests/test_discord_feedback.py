"""bot/discord_bot/feedback.py: the SQLite store of answers and votes behind the persistent buttons."""

from __future__ import annotations

import sqlite3

import pytest

from bot.discord_bot.feedback import SCHEMA_VERSION, FeedbackStore, Tally, source_rows
from retrieval.errors import StoreError

ANSWERABLE = "From which city did Interfax report Lavrov's comments about restarting the Geneva talks?"
UNANSWERABLE = "Can you give me a recipe for hummus?"


@pytest.fixture
def store(tmp_path):
    s = FeedbackStore(tmp_path / "nested" / "discord.sqlite3")
    yield s
    s.close()


def test_answers_round_trip_with_their_passages(store, engine):
    answer = engine.answer(ANSWERABLE)
    answer_id = store.add(answer, user_id=11, guild_id=22, channel_id=33)
    record = store.get(answer_id)
    assert (record.question, record.answer, record.answerable) == (answer.question, answer.answer, True)
    assert (record.user_id, record.guild_id, record.channel_id, record.message_id) == (11, 22, 33, None)
    assert record.mode == "extractive" and record.model is None and record.created_at.endswith("+00:00")
    assert [r.n for r in record.sources] == [c.n for c in answer.citations]
    text = (engine.index.catalog.passages([answer.citations[0].passage_id]))[answer.citations[0].passage_id].text
    first = record.sources[0]
    assert first.passage == text
    assert first.passage[first.start - first.passage_start : first.end - first.passage_start] == first.quote
    assert store.get(answer_id + 100) is None


def test_an_unanswered_question_keeps_its_closest_passage(store, engine):
    answer = engine.answer(UNANSWERABLE)
    record = store.get(store.add(answer))
    assert not record.answerable
    (row,) = record.sources
    assert row.n == 0 and row.passage == answer.closest.quote and row.paragraph > 0 and row.title


def test_answers_are_found_by_the_messages_that_show_them(store, engine):
    a1 = engine.answer(ANSWERABLE)
    a2 = engine.answer("Who said opposition fighters would be eradicated?")
    id1, id2 = store.add(a1, channel_id=5), store.add(a2, channel_id=5)
    store.set_message(id1, 1001, 77)
    store.set_message(id2, 1002)
    assert store.get(id1).channel_id == 77 and store.get(id2).channel_id == 5
    found = store.by_messages([1002, 999, 1001])
    assert set(found) == {1001, 1002}
    assert (found[1001].id, found[1001].question, found[1001].answer) == (id1, a1.question, a1.answer)
    assert (found[1002].id, found[1002].message_id) == (id2, 1002)
    assert store.by_messages([]) == {}
    assert len(store.by_messages(list(range(2000, 3200)) + [1001])) == 1  # more ids than one IN (...) takes


def test_votes_one_per_user_last_click_wins(store, engine):
    answer_id = store.add(engine.answer(ANSWERABLE))
    assert store.tally(answer_id) == Tally(0, 0)
    assert store.vote(answer_id, 1, 1) == Tally(1, 0)
    assert store.vote(answer_id, 2, 1) == Tally(2, 0)
    assert store.vote(answer_id, 1, -1) == Tally(1, 1)
    with pytest.raises(ValueError):
        store.vote(answer_id, 3, 0)


def test_qa_drafts_take_well_voted_answered_questions(store, engine):
    good = store.add(engine.answer(ANSWERABLE))
    bad = store.add(engine.answer("Who said opposition fighters would be eradicated?"))
    refused = store.add(engine.answer(UNANSWERABLE))
    store.vote(good, 1, 1)
    store.vote(good, 2, 1)
    store.vote(bad, 1, -1)
    store.vote(refused, 1, 1)
    (draft,) = store.qa_drafts()
    assert draft["id"] == f"discord-{good}" and draft["question"] == ANSWERABLE
    assert draft["answers"] == [] and draft["type"] == "draft" and draft["net_votes"] == 2
    assert draft["evidence"] and "Interfax reported from Hamburg" in " ".join(draft["evidence"])
    assert store.qa_drafts(min_net_votes=3) == []


def test_the_store_survives_a_reopen(tmp_path, engine):
    path = tmp_path / "d.sqlite3"
    first = FeedbackStore(path)
    answer_id = first.add(engine.answer(ANSWERABLE))
    first.vote(answer_id, 9, 1)
    first.close()
    again = FeedbackStore(path)
    assert again.get(answer_id).question == ANSWERABLE and again.tally(answer_id) == Tally(1, 0)
    again.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_newer_schema_or_a_bad_path_is_a_store_error(tmp_path):
    path = tmp_path / "new.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer ragbot"):
        FeedbackStore(path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="RAGBOT_DISCORD_DB_PATH"):
        FeedbackStore(blocker / "discord.sqlite3")


def test_source_rows_fall_back_to_the_quote_without_its_passage(engine):
    from dataclasses import replace

    answer = engine.answer(ANSWERABLE)
    (row,) = source_rows(replace(answer, retrieved=()))[:1]
    c = answer.citations[0]
    assert (row.passage, row.passage_start, row.title) == (
        c.quote,
        c.start,
        c.title,
    )  # the citation still knows its title


# -- schema versions, /forget and retention ---------------------------------------------------
V1_SCHEMA = """
CREATE TABLE answers (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL, user_id INTEGER,
    guild_id INTEGER, channel_id INTEGER, message_id INTEGER, question TEXT NOT NULL, answer TEXT NOT NULL,
    answerable INTEGER NOT NULL, mode TEXT NOT NULL, model TEXT, sources TEXT NOT NULL);
CREATE INDEX answers_by_message ON answers(message_id);
CREATE TABLE votes (answer_id INTEGER NOT NULL REFERENCES answers(id) ON DELETE CASCADE, user_id INTEGER NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)), voted_at TEXT NOT NULL, PRIMARY KEY (answer_id, user_id));
INSERT INTO answers VALUES (1, '2026-01-02T03:04:05+00:00', 7, 1, 2, 99, 'Where?', 'In Hamburg [1].', 1,
    'extractive', NULL, '[]');
INSERT INTO votes VALUES (1, 8, 1, '2026-01-02T03:05:00+00:00');
PRAGMA user_version = 1;
"""


def test_a_version_1_file_is_migrated_in_place_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(V1_SCHEMA)
    store = FeedbackStore(path)
    assert store.get(1).question == "Where?" and store.tally(1) == Tally(1, 0)
    assert store.by_messages([99])[99].answer == "In Hamburg [1]."
    store_id = store.store_id
    assert len(store_id) == 8 and int(store_id, 16) >= 0
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"answers_by_user", "answers_by_date", "votes_by_user"} <= indexes
    again = FeedbackStore(path)  # the id is the file's: it survives a reopen
    assert again.store_id == store_id
    again.close()
    fresh = FeedbackStore(tmp_path / "fresh.sqlite3")  # and another file has another
    assert fresh.store_id != store_id
    fresh.close()


def test_forget_deletes_a_users_questions_and_votes_and_nothing_else(store, engine):
    answer = engine.answer(ANSWERABLE)
    mine = [store.add(answer, user_id=7), store.add(answer, user_id=7)]
    theirs = store.add(answer, user_id=8)
    store.vote(mine[0], 8, 1)  # a vote on my question goes with it
    store.vote(theirs, 7, -1)  # my vote on theirs goes too
    store.vote(theirs, 9, 1)
    assert store.forget(7) == (2, 1)
    assert all(store.get(i) is None for i in mine)
    assert store.get(theirs) is not None and store.tally(theirs) == Tally(1, 0)
    assert store.forget(7) == (0, 0)


def test_purge_deletes_rows_older_than_the_retention(store, engine):
    from datetime import UTC, datetime, timedelta

    answer = engine.answer(ANSWERABLE)
    old, new = store.add(answer, user_id=1), store.add(answer, user_id=1)
    store.vote(new, 5, 1)
    store._run("UPDATE answers SET created_at = '2020-01-01T00:00:00+00:00' WHERE id = ?", (old,))
    store._run("UPDATE votes SET voted_at = '2020-01-01T00:00:00+00:00' WHERE answer_id = ?", (new,))
    assert store.purge(0) == 0 and store.get(old) is not None  # 0 keeps everything
    assert store.purge(90) == 1
    assert store.get(old) is None and store.get(new) is not None and store.tally(new) == Tally(0, 0)
    later = datetime.now(UTC) + timedelta(days=91)
    assert store.purge(90, now=later) == 1 and store.get(new) is None
