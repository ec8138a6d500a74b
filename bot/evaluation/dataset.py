"""Q&A sets for `ragbot eval`: our JSONL format, read and checked into `Unit`s.

One JSON object per line:
    {"id", "question", "answers": [...], "evidence": [...], "type"}
    {"id", "type": "conversation", "turns": [{"question", "answers", "evidence", "standalone"?}, ...]}
`answers` are short strings a correct answer contains (for `list` rows: the items, all of which it
must contain); `evidence` are exact substrings of the document; both are empty for a question the
documents do not answer. A conversation's turns become units `<id>#1`, `<id>#2`, ... answered in
order, each with the earlier turns as history. A later turn is a follow-up (it needs the earlier
turns) unless it says `"standalone": true`: a new question that must be answered as if asked alone
(a topic switch). Other keys are ignored. A malformed set raises InputError naming the line.
Rows of type "draft" (from `ragbot feedback export`) are refused, all of them named, until a person
sets their type. SQuAD v2.0 files are read by squad.py into the same units.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrieval import InputError

CONVERSATION = "conversation"
UNANSWERABLE = "unanswerable"
LIST = "list"
DRAFT = "draft"  # a row exported from votes (`ragbot feedback export`) that a person has not filled in yet


@dataclass(frozen=True)
class Unit:
    """One question to answer: a standalone row, or one turn (`turn` >= 1) of a conversation."""

    id: str
    type: str
    question: str
    answers: tuple[str, ...]
    evidence: tuple[str, ...]
    turn: int = 0
    standalone: bool = False  # a later turn marked as not needing the earlier ones (a topic switch)

    @property
    def answerable(self) -> bool:
        return bool(self.answers)

    @property
    def followup(self) -> bool:
        """A second or later turn that depends on the earlier ones."""
        return self.turn >= 2 and not self.standalone

    @property
    def standalone_turn(self) -> bool:
        """A second or later turn marked `"standalone": true`."""
        return self.turn >= 2 and self.standalone


Item = tuple[Unit, ...]  # a standalone question (one unit) or a conversation's turns, in order


def _strings(value: Any, what: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InputError(f"{where}: {what!r} must be a list of non-empty strings")
    return tuple(value)


def _standalone(turn: dict[str, Any], n: int, where: str) -> bool:
    value = turn.get("standalone", False)
    if not isinstance(value, bool):
        raise InputError(f"{where}: 'standalone' must be true or false")
    if value and n == 1:
        raise InputError(f"{where}: 'standalone' marks a later turn; the first turn always stands alone")
    return value


def _question(obj: dict[str, Any], where: str) -> str:
    q = obj.get("question")
    if not isinstance(q, str) or not q.strip():
        raise InputError(f"{where}: 'question' must be a non-empty string")
    return q


def parse_row(row: Any, where: str) -> Item:
    """One JSONL object -> its units. `where` names the row in error messages."""
    if not isinstance(row, dict):
        raise InputError(f"{where}: expected a JSON object")
    rid, typ = row.get("id"), row.get("type")
    if not isinstance(rid, str) or not rid.strip() or "#" in rid:
        raise InputError(f"{where}: 'id' must be a non-empty string without '#'")
    if not isinstance(typ, str) or not typ.strip():
        raise InputError(f"{where}: 'type' must be a non-empty string")
    if typ == CONVERSATION:
        turns = row.get("turns")
        if not isinstance(turns, list) or not turns:
            raise InputError(f"{where}: a conversation needs a non-empty 'turns' list")
        units = []
        for n, turn in enumerate(turns, start=1):
            at = f"{where}, turn {n}"
            if not isinstance(turn, dict):
                raise InputError(f"{at}: expected a JSON object")
            units.append(
                Unit(
                    f"{rid}#{n}",
                    typ,
                    _question(turn, at),
                    _strings(turn.get("answers"), "answers", at),
                    _strings(turn.get("evidence", []), "evidence", at),
                    turn=n,
                    standalone=_standalone(turn, n, at),
                )
            )
        return tuple(units)
    answers = _strings(row.get("answers"), "answers", where)
    evidence = _strings(row.get("evidence", []), "evidence", where)
    if answers and not evidence:
        raise InputError(f"{where}: an answerable question needs 'evidence'")
    return (Unit(rid, typ, _question(row, where), answers, evidence),)


def check_unique(items: list[Item], source: str) -> None:
    dup = sorted(i for i, c in Counter(u.id for item in items for u in item).items() if c > 1)
    if dup:
        raise InputError(f"{source}: duplicate ids {', '.join(dup[:10])}")


def json_lines(path: Path, what: str) -> list[tuple[int, str, Any]]:
    """(line number, "path:line", parsed object) of each non-blank line of a JSONL file; InputError
    naming the `what` file, or the line that is not JSON."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"no such {what} file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the {what} file {path}: {exc}") from None
    out = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append((n, f"{path}:{n}", json.loads(line)))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
    return out


def load_jsonl(path: Path) -> list[Item]:
    """Read a JSONL Q&A set; blank lines are skipped."""
    items = []
    drafts: list[str] = []
    for n, where, row in json_lines(path, "Q&A"):
        if isinstance(row, dict) and row.get("type") == DRAFT:
            drafts.append(f"line {n} ({row.get('id', 'no id')})")
            continue
        items.append(parse_row(row, where))
    if drafts:
        raise InputError(
            f"{path}: {len(drafts)} row(s) still of type 'draft': {', '.join(drafts[:20])}"
            f"{' …' if len(drafts) > 20 else ''}; fill in 'answers' and 'evidence' and set the type "
            "(or 'unanswerable' with empty answers), or remove them"
        )
    if not items:
        raise InputError(f"{path} holds no questions")
    check_unique(items, str(path))
    return items
