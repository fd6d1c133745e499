"""The engine stays pure: it imports only NumPy and the standard library."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"
ALLOWED_THIRD_PARTY = {"numpy"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_engine_imports_only_numpy_the_standard_library_and_itself() -> None:
    files = sorted(ENGINE.rglob("*.py"))
    assert len(files) > 10
    offenders = {}
    for path in files:
        extra = (
            imported_roots(path)
            - ALLOWED_THIRD_PARTY
            - set(sys.stdlib_module_names)
            - {"engine", "__future__"}
        )
        if extra:
            offenders[str(path.relative_to(ENGINE))] = sorted(extra)
    assert offenders == {}


def test_the_import_check_would_catch_a_server_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from fastapi import FastAPI\nimport pydantic\nfrom server.app import create_app\n")
    assert {"fastapi", "pydantic", "server"} <= imported_roots(bad)
