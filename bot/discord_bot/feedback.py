"""The Discord bot's small SQLite store: every answer it posted, and the thumbs votes on them.

The Sources and vote buttons carry an answer id and this file's own id (`meta.store_id`, made when
the file is made) in their custom id, so they keep working after a restart and never point at an
answer of a later file: everything they need is read back from here. The file is
`RAGBOT_DISCORD_DB_PATH`; rows older than RAGBOT_DISCORD_RETENTION_DAYS are purged (`purge`), and a
user's own rows go on request (`forget`).

Schema (version 2, `PRAGMA user_version`; older files are migrated in place when opened):

    answers(id INTEGER PRIMARY KEY,      -- the number in the buttons' custom ids
            created_at TEXT,             -- UTC, ISO 8601
            user_id, guild_id, channel_id INTEGER,   -- who asked where (guild_id NULL in a DM)
            message_id INTEGER,          -- the bot's reply; NULL until it is sent
            question TEXT, answer TEXT,  -- as asked (mentions stripped) and as shown, with [n] markers
            answerable INTEGER,          -- 1 answered, 0 "the documents don't say"
            mode TEXT, model TEXT,       -- "extractive" or "llm"; the model that wrote it, NULL offline
            sources TEXT)                -- JSON list of SourceRow objects (below)
    votes(answer_id INTEGER REFERENCES answers(id), user_id INTEGER,
          vote INTEGER,                  -- +1 thumbs up, -1 thumbs down; one per user, last click wins
          voted_at TEXT, PRIMARY KEY (answer_id, user_id))
    meta(key TEXT PRIMARY KEY, value TEXT)  -- "store_id": 8 hex digits, this file's id in button custom ids

Migrations: 1 -> 2 adds `meta` (with a new store id) and indexes by user and by date.

A source row: {"n": marker (0 = the closest passage of an unanswered question), "source", "title",
"paragraph", "score", "quote": the cited words, "passage": the whole passage they lie in,
"passage_start", "start", "end": offsets into the source text}. `qa_drafts()` turns well-voted
answers into lines shaped like seeds/qa.jsonl for a person to review. Leaves out anything Discord:
this module is plain sqlite3 and JSON.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrieval import StoreError

if TYPE_CHECKING:
    from retrieval import Answer

SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    user_id INTEGER,
    guild_id INTEGER,
    channel_id INTEGER,
    message_id INTEGER,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    answerable INTEGER NOT NULL,
    mode TEXT NOT NULL,
    model TEXT,
    sources TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_by_message ON answers(message_id);
CREATE TABLE IF NOT EXISTS votes (
    answer_id INTEGER NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    voted_at TEXT NOT NULL,
    PRIMARY KEY (answer_id, user_id)
);
"""
MIGRATIONS = {  # version -> the script that brings a file of that version to the next
    1: """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS answers_by_user ON answers(user_id);
CREATE INDEX IF NOT EXISTS answers_by_date ON answers(created_at);
CREATE INDEX IF NOT EXISTS votes_by_user ON votes(user_id);
""",
}


@dataclass(frozen=True)
class SourceRow:
    """One passage behind an answer, kept whole so the Sources button needs no vector store."""

    n: int
    source: str
    title: str
    paragraph: int
    score: float
    quote: str
    passage: str
    passage_start: int
    start: int
    end: int
    page: int | None = None  # the PDF page (rows stored before pages were kept have none)
    date: str = ""  # the document's publication date, when known


@dataclass(frozen=True)
class StoredAnswer:
    id: int
    created_at: str
    user_id: int | None
    guild_id: int | None
    channel_id: int | None
    message_id: int | None
    question: str
    answer: str
    answerable: bool
    mode: str
    model: str | None
    sources: tuple[SourceRow, ...]


@dataclass(frozen=True)
class Tally:
    up: int
    down: int


def source_rows(answer: Answer) -> tuple[SourceRow, ...]:
    """The citations of an answer with their whole passages; for an unanswered one, the closest passage."""
    passages = {h.passage.id: h.passage for h in answer.retrieved}
    rows = []
    for c in answer.citations:
        p = passages.get(c.passage_id)
        if p is not None and p.start <= c.start and c.end <= p.end:
            rows.append(
                SourceRow(
                    c.n,
                    c.source,
                    p.title,
                    c.paragraph or p.paragraph,
                    c.score,
                    c.quote,
                    p.text,
                    p.start,
                    c.start,
                    c.end,
                    c.page,
                    c.date,
                )
            )
        else:
            rows.append(
                SourceRow(
                    c.n,
                    c.source,
                    c.title,
                    c.paragraph,
                    c.score,
                    c.quote,
                    c.quote,
                    c.start,
                    c.start,
                    c.end,
                    c.page,
                    c.date,
                )
            )
    if not answer.answerable and answer.closest is not None:
        s = answer.closest
        hit = next(
            (h.passage for h in answer.retrieved if h.passage.source == s.source and h.passage.start == s.start), None
        )
        rows.append(
            SourceRow(
                0,
                s.source,
                hit.title if hit else "",
                hit.paragraph if hit else 0,
                s.score,
                s.quote,
                s.quote,
                s.start,
                s.start,
                s.end,
                hit.page if hit else None,
                hit.date if hit else "",
            )
        )
    return tuple(rows)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class FeedbackStore:
    """Answers and votes in one SQLite file. Thread-safe; every call is one short transaction."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL stays consistent; no fsync per answer on the loop
            self._db.execute("PRAGMA foreign_keys=ON")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer ragbot (schema {version}); upgrade, or point "
                    "RAGBOT_DISCORD_DB_PATH at another file"
                )
            self._migrate(version)
            self.store_id = self._store_id()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(
                f"cannot open the Discord store {self.path} ({exc}): check RAGBOT_DISCORD_DB_PATH"
            ) from exc
        self._lock = threading.Lock()

    def _migrate(self, version: int) -> None:
        """Bring the file to SCHEMA_VERSION in place, one version at a time, each step in one transaction."""
        if version == 0:  # a new file (or one from before versions were kept): the first schema
            self._db.executescript(SCHEMA)
            version = 1
        while version < SCHEMA_VERSION:
            self._db.executescript(f"BEGIN; {MIGRATIONS[version]} PRAGMA user_version = {version + 1}; COMMIT;")
            version += 1

    def _store_id(self) -> str:
        self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', ?)", (secrets.token_hex(4),))
        value: str = self._db.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()[0]
        return value

    def close(self) -> None:
        self._db.close()

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._db.execute(sql, params)
            except sqlite3.Error as exc:
                raise StoreError(f"the Discord store {self.path} failed: {exc}") from exc

    # -- answers ------------------------------------------------------------------------------
    def add(
        self, answer: Answer, *, user_id: int | None = None, guild_id: int | None = None, channel_id: int | None = None
    ) -> int:
        """Keep an answer before it is sent (its id goes into the buttons); returns that id."""
        sources = json.dumps([asdict(r) for r in source_rows(answer)], ensure_ascii=False)
        cur = self._run(
            "INSERT INTO answers (created_at, user_id, guild_id, channel_id, question, answer, answerable, mode, "
            "model, sources) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                _now(),
                user_id,
                guild_id,
                channel_id,
                answer.question,
                answer.answer,
                int(answer.answerable),
                answer.mode,
                answer.model,
                sources,
            ),
        )
        assert cur.lastrowid is not None  # set by every INSERT
        return cur.lastrowid

    def set_message(self, answer_id: int, message_id: int, channel_id: int | None = None) -> None:
        """Record which message shows the answer (and where it went, when that is a new thread)."""
        self._run(
            "UPDATE answers SET message_id = ?, channel_id = coalesce(?, channel_id) WHERE id = ?",
            (message_id, channel_id, answer_id),
        )

    def get(self, answer_id: int) -> StoredAnswer | None:
        row = self._run("SELECT * FROM answers WHERE id = ?", (answer_id,)).fetchone()
        return _record(row) if row else None

    def by_messages(self, message_ids: list[int]) -> dict[int, StoredAnswer]:
        """The answers shown by these messages, keyed by message id (unknown ids are left out)."""
        out: dict[int, StoredAnswer] = {}
        for b in range(0, len(message_ids), 500):
            chunk = message_ids[b : b + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._run(f"SELECT * FROM answers WHERE message_id IN ({marks})", tuple(chunk)).fetchall():
                record = _record(row)
                out[record.message_id] = record  # type: ignore[index]
        return out

    # -- what a user may take back, and how long anything is kept ------------------------------
    def forget(self, user_id: int) -> tuple[int, int]:
        """Delete a user's questions (their answers, with every vote on them) and their votes elsewhere;
        returns (questions, votes) deleted."""
        with self._lock:
            try:
                self._db.execute("BEGIN")
                votes = self._db.execute("DELETE FROM votes WHERE user_id = ?", (user_id,)).rowcount
                questions = self._db.execute("DELETE FROM answers WHERE user_id = ?", (user_id,)).rowcount
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StoreError(f"the Discord store {self.path} failed: {exc}") from exc
        return questions, votes

    def purge(self, days: int, *, now: datetime | None = None) -> int:
        """Delete answers (with their votes) and votes older than `days` days; 0 keeps everything.
        Returns the answers deleted."""
        if days <= 0:
            return 0
        cutoff = ((now or datetime.now(UTC)) - timedelta(days=days)).isoformat(timespec="seconds")
        self._run("DELETE FROM votes WHERE voted_at < ?", (cutoff,))
        return self._run("DELETE FROM answers WHERE created_at < ?", (cutoff,)).rowcount

    # -- votes --------------------------------------------------------------------------------
    def vote(self, answer_id: int, user_id: int, vote: int) -> Tally:
        """Record a user's thumbs up (+1) or down (-1), replacing their earlier vote on that answer."""
        if vote not in (-1, 1):
            raise ValueError("vote must be +1 or -1")
        self._run(
            "INSERT INTO votes (answer_id, user_id, vote, voted_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(answer_id, user_id) DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at",
            (answer_id, user_id, vote, _now()),
        )
        return self.tally(answer_id)

    def tally(self, answer_id: int) -> Tally:
        up, down = self._run(
            "SELECT coalesce(sum(vote = 1), 0), coalesce(sum(vote = -1), 0) FROM votes WHERE answer_id = ?",
            (answer_id,),
        ).fetchone()
        return Tally(int(up), int(down))

    def qa_drafts(self, min_net_votes: int = 1, *, refusals: bool = False) -> list[dict[str, Any]]:
        """Answered questions (with `refusals`, refused ones too) whose votes net at least `min_net_votes`,
        shaped like seeds/qa.jsonl lines (`answers` is left empty for a person to fill; `evidence` holds the
        cited quotes; `bot_refused` says the bot answered "the documents don't say")."""
        rows = self._run(
            "SELECT a.*, sum(v.vote) AS net FROM answers a JOIN votes v ON v.answer_id = a.id "
            "WHERE a.answerable = 1 OR ? GROUP BY a.id HAVING net >= ? ORDER BY a.id",
            (refusals, min_net_votes),
        ).fetchall()
        return [
            {
                "id": f"discord-{r.id}",
                "question": r.question,
                "answers": [],
                "evidence": [s.quote for s in r.sources if s.n],
                "type": "draft",
                "bot_answer": r.answer,
                "bot_refused": not r.answerable,
                "net_votes": int(row[-1]),
            }
            for row in rows
            for r in (_record(row[:-1]),)
        ]


def _record(row: tuple[Any, ...]) -> StoredAnswer:
    (id_, created_at, user_id, guild_id, channel_id, message_id, question, answer, answerable, mode, model, sources) = (
        row
    )
    return StoredAnswer(
        id=id_,
        created_at=created_at,
        user_id=user_id,
        guild_id=guild_id,
        channel_id=channel_id,
        message_id=message_id,
        question=question,
        answer=answer,
        answerable=bool(answerable),
        mode=mode,
        model=model,
        sources=tuple(SourceRow(**s) for s in json.loads(sources)),
    )
