"""The core's public face: every exported name resolves, and front-ends import nothing else of the core."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import retrieval

ROOT = Path(__file__).resolve().parents[1]


def test_all_lists_exactly_the_exports():
    assert sorted(retrieval.__all__) == sorted(retrieval._EXPORTS)


@pytest.mark.parametrize("name", sorted(retrieval._EXPORTS))
def test_every_exported_name_resolves(name):
    assert getattr(retrieval, name) is not None


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        retrieval.nothing_here  # noqa: B018


def _core_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("retrieval."):
            found.append(node.module)
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("retrieval.")]
    return found


def test_front_ends_import_only_the_face():
    offenders = {
        str(path.relative_to(ROOT)): mods for path in (ROOT / "bot").rglob("*.py") if (mods := _core_imports(path))
    }
    assert offenders == {}


def test_the_core_imports_no_front_end_and_no_ui_library():
    for path in (ROOT / "retrieval").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                assert not name.startswith(("bot", "discord", "click", "rich")), (path, name)


@pytest.mark.parametrize("sdk, owner", [("chromadb", "storage/vectors.py"), ("litellm", "generation/llm.py"),
                                         ("onnxruntime", "documents/embed.py")])  # fmt: skip
def test_each_outside_sdk_is_imported_by_one_module(sdk, owner):
    importers = []
    for path in list((ROOT / "retrieval").rglob("*.py")) + list((ROOT / "bot").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(a.name.split(".")[0] == sdk for a in node.names):
                importers.append(path)
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == sdk:
                importers.append(path)
    assert {str(p.relative_to(ROOT / "retrieval")) for p in importers} == {owner}


def test_importing_the_face_loads_no_heavy_library():
    heavy = ("chromadb", "litellm", "onnxruntime", "numpy")
    code = f"import sys, retrieval; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
