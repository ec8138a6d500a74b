"""Helpers shared by the tests: paths, a scripted LLM, a loopback LLM server, Discord fakes, the network guard."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTICLE = ROOT / "seeds" / "000_7f696d753bde9fea.txt"


def ragbot_env(**settings: str) -> dict[str, str]:
    """This process's environment for a child process, without the developer's RAGBOT_* settings, plus `settings`."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")} | settings
