"""Imports point one way: bot -> engine -> {risk, adapters, db} -> config -> domain (read from the source, so a
lazy import inside a function counts too). telemetry (the Prometheus metrics) sits on domain, so every layer above
may record into it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# package -> the first-party packages it must never import
FORBIDDEN = {
    "domain": {"config", "risk", "analysis", "adapters", "db", "sql", "engine", "bot", "quorum"},
    "config": {"risk", "analysis", "adapters", "db", "sql", "engine", "bot", "quorum"},
    "risk": {"adapters", "db", "sql", "engine", "bot", "quorum"},
    "analysis": {"adapters", "db", "sql", "engine", "bot", "quorum"},
    "adapters": {"db", "engine", "bot", "quorum"},
    "db": {"engine", "bot", "quorum"},
    "engine": {"bot", "quorum"},
    "telemetry": {"config", "risk", "analysis", "adapters", "db", "sql", "engine", "bot", "quorum"},
}
TRANSPORTS = {"telegram"}  # nothing below bot/ talks to a transport


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_when_read_from_source_then_point_one_way(package: str) -> None:
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        wrong = imported_packages(path) & (FORBIDDEN[package] | TRANSPORTS)
        if wrong:
            offenders.append(f"{path.relative_to(ROOT)} imports {', '.join(sorted(wrong))}")
    assert not offenders, "\n".join(offenders)


def test_layer_check_when_a_module_imports_upward_then_it_is_caught(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from engine.manager import MultiPairManager\n    import telegram\n")
    assert imported_packages(module) == {"engine", "telegram"}
