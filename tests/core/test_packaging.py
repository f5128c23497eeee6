"""The image and the package agree: every package pyproject installs is copied into the Docker image, and the
image runs `quorum run`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_dockerfile_when_read_then_it_copies_every_installed_package_and_runs_the_bot() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {name.rstrip("*") for name in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) \./\1$", dockerfile, flags=re.MULTILINE))
    assert packages <= copied, f"not copied into the image: {sorted(packages - copied)}"
    assert {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists() and p.name != "tests"} <= packages
    assert 'CMD ["quorum", "run"]' in dockerfile
