"""An answering process for tests: opens the index its RAGBOT_* environment names and answers one
question over and over, one JSON line per answer ({"n", "quotes"} or {"n", "error"}), until the file
named by argv[2] exists; then it answers argv[3] more times and exits. Run as a script:
`python tests/helpers/answer_loop.py QUESTION STOP_FILE AFTER_STOP`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from retrieval import Engine, Index, RagbotError, load_settings


def main() -> None:
    question, stop, after = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    settings = load_settings()
    engine = Engine(settings, Index.open(settings))
    n = left = 0
    while True:
        n += 1
        try:
            answer = engine.answer(question)
            line = {"n": n, "quotes": [c.quote for c in answer.citations]}
        except RagbotError as exc:
            line = {"n": n, "error": str(exc)}
        print(json.dumps(line), flush=True)
        if left:
            left -= 1
            if not left:
                return
        elif stop.exists():
            left = max(after, 1)


if __name__ == "__main__":
    main()
