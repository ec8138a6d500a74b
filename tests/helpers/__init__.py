"""Helpers shared by the tests: paths, a scripted LLM, a loopback LLM server, Discord fakes, the network guard."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTICLE = ROOT / "seeds" / "000_7f696d753bde9fea.txt"
