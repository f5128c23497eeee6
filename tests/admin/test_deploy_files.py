"""The deployment files, read as files (no Docker engine or systemd here): a slim multi-stage image run by an
unprivileged user with a health check on /healthz that works without curl (run here against Quorum's own
endpoint); compose starts PostgreSQL, then the one-shot migration, then Quorum; the systemd unit runs as a
service user, migrates before it starts and restarts on failure."""

from __future__ import annotations

import asyncio
import configparser
import json
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from bot.health_http import HealthServer
from tests.admin.yaml_subset import load

ROOT = Path(__file__).resolve().parents[2]


def _stages(dockerfile: str) -> dict[str, list[str]]:
    """Stage name -> its instructions, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", dockerfile)
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("FROM "):
            current = stages.setdefault(line.split()[-1], [])
        current.append(line)
    return stages


def _healthcheck_argv(dockerfile: str) -> list[str]:
    [instruction] = [line for line in _stages(dockerfile)["runtime"] if line.startswith("HEALTHCHECK")]
    return json.loads(instruction.split(" CMD ", 1)[1])


def test_dockerfile_when_read_then_slim_multistage_non_root_with_a_healthcheck_on_healthz() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = _stages(dockerfile)

    assert list(stages) == ["build", "runtime"]
    assert stages["build"][0] == "FROM python:3.12-slim AS build"
    assert stages["runtime"][0] == "FROM python:3.12-slim AS runtime"
    runtime = "\n".join(stages["runtime"])
    assert "COPY --from=build /opt/quorum /opt/quorum" in runtime
    assert "apt-get" not in runtime and "build-essential" not in runtime  # compilers stay in the build stage
    [user] = [line.split()[1] for line in stages["runtime"] if line.startswith("USER ")]
    assert user not in ("root", "0") and "useradd --create-home --uid 10001 --user-group" in runtime
    assert stages["runtime"][-1] == 'CMD ["quorum", "run"]'
    argv = _healthcheck_argv(dockerfile)
    assert argv[:2] == ["python", "-c"] and "curl" not in runtime and "wget" not in runtime
    assert "127.0.0.1" in argv[2] and "/healthz" in argv[2] and "METRICS_PORT" in argv[2]
    assert "ENV" in runtime and "METRICS_PORT=9108" in runtime


class _Health(BaseHTTPRequestHandler):
    status = 503

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def _health_server(status: int) -> Iterator[int]:
    handler = type("Handler", (_Health,), {"status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


async def test_healthcheck_when_run_against_quorums_own_endpoint_then_healthy() -> None:
    argv = _healthcheck_argv((ROOT / "Dockerfile").read_text())
    server = HealthServer({}, CollectorRegistry(), host="127.0.0.1", port=0)  # what `quorum run` serves
    port = await server.start()
    try:
        probe = await asyncio.create_subprocess_exec(
            sys.executable, *argv[1:], env={"METRICS_PORT": str(port)}, stderr=asyncio.subprocess.PIPE
        )
        _, stderr = await asyncio.wait_for(probe.communicate(), timeout=30)
    finally:
        await server.stop()
    assert probe.returncode == 0, stderr


def test_healthcheck_when_healthz_answers_an_error_then_unhealthy() -> None:
    argv = _healthcheck_argv((ROOT / "Dockerfile").read_text())
    with _health_server(503) as port:
        result = subprocess.run(
            [sys.executable, *argv[1:]], env={"METRICS_PORT": str(port)}, capture_output=True, timeout=30, check=False
        )
    assert result.returncode != 0 and b"503" in result.stderr


def test_healthcheck_when_nothing_listens_then_unhealthy() -> None:
    argv = _healthcheck_argv((ROOT / "Dockerfile").read_text())
    with _health_server(503) as port:
        pass  # the port is free again
    result = subprocess.run([sys.executable, *argv[1:]], env={"METRICS_PORT": str(port)}, capture_output=True,
                            timeout=30, check=False)  # fmt: skip
    assert result.returncode != 0


def test_compose_when_read_then_postgres_then_migration_then_quorum_each_with_a_healthcheck() -> None:
    compose = load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]

    assert set(services) == {"postgres", "migrate", "quorum", "gateway", "worker"}
    postgres, migrate, quorum = services["postgres"], services["migrate"], services["quorum"]
    gateway, worker = services["gateway"], services["worker"]  # instead of quorum: --profile distributed
    assert "profiles" not in quorum and gateway["profiles"] == worker["profiles"] == ["distributed"]
    assert gateway["command"] == ["quorum", "run", "--role", "gateway"]
    assert worker["command"] == ["quorum", "run", "--role", "worker"]
    for service in (gateway, worker):
        assert service["image"] == quorum["image"] and service["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert service["environment"] == quorum["environment"]
    assert worker["depends_on"]["gateway"] == {"condition": "service_started"}
    assert gateway["healthcheck"]["test"] == quorum["healthcheck"]["test"]
    assert postgres["image"].startswith("postgres:") and "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert migrate["command"] == ["quorum", "admin", "migrate"] and migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert quorum["command"] == ["quorum", "run"]
    assert quorum["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert migrate["image"] == quorum["image"] and migrate["build"] == quorum["build"] == "."
    for service in (migrate, quorum):
        assert service["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://quorum:")
        assert "@postgres:5432/quorum" in service["environment"]["DATABASE_URL"]
        assert service["env_file"] == [{"path": ".env", "required": False}]
    assert quorum["healthcheck"]["test"] == ["CMD", *_healthcheck_argv((ROOT / "Dockerfile").read_text())]
    assert compose["volumes"] == {"pgdata": None}


def test_yaml_reader_when_given_what_it_does_not_read_then_refuses() -> None:
    for text in ("a: &anchor 1", "a: |\n  text", "a: {b: 1}", "a: 1\n  b: 2"):
        with pytest.raises(ValueError):
            load(text)


def test_systemd_unit_when_read_then_service_user_environment_file_migration_and_restart() -> None:
    unit = configparser.ConfigParser(strict=True, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    unit.read_string((ROOT / "deploy" / "quorum.service").read_text())
    service = unit["Service"]

    assert service["User"] not in ("root", "0") and service["Group"] == service["User"]
    assert service["EnvironmentFile"].startswith("/")
    assert shlex.split(service["ExecStartPre"])[1:] == ["admin", "migrate"]
    assert shlex.split(service["ExecStart"])[1:] == ["run"]
    assert Path(shlex.split(service["ExecStart"])[0]).name == "quorum"
    assert service["Restart"] == "on-failure" and service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) >= 60
    assert "network-online.target" in unit["Unit"]["After"]
    assert unit["Install"]["WantedBy"] == "multi-user.target"
