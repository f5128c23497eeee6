"""Start-up stays light: `quorum --help` and every sub-command's help import no SDK, and the AI factory imports
a provider's SDK only when that provider is configured. Counted by module, in a fresh interpreter, not timed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {"openai", "anthropic", "ccxt", "pandas", "pandas_ta", "matplotlib", "sqlalchemy", "telegram", "numpy"}
LLM_ENV = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "DEEPSEEK_API_KEY",
    "OPENAI_COMPATIBLE_BASE_URL",
    "OPENAI_COMPATIBLE_API_KEY",
)


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.upper() not in LLM_ENV}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _python(*argv: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter run from the project root without LLM keys; it must succeed."""
    result = subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, cwd=ROOT, env=_clean_env(), timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def imported_by(argv: list[str]) -> set[str]:
    """Top-level packages a fresh `python -X importtime ARGV` imports, read from the report on stderr."""
    result = _python("-X", "importtime", *argv)
    return {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }


def imported_after(script: str) -> set[str]:
    """Top-level packages in sys.modules after SCRIPT ran in a fresh interpreter."""
    return {name.split(".")[0] for name in modules_after(script)}


@pytest.mark.parametrize(
    "args",
    [["--help"], ["backtest", "--help"], ["demo", "--help"], ["admin", "--help"], ["data", "download", "--help"]],
    ids=" ".join,
)
def test_help_when_shown_then_no_sdk_is_imported(args: list[str]) -> None:
    assert imported_by(["-m", "quorum.cli", *args]) & HEAVY == set()


def test_importtime_reader_when_an_sdk_is_imported_then_it_is_seen() -> None:
    # the report reader must see an SDK when one is imported, or the test above could never fail
    assert {"typer", "openai"} <= imported_by(["-c", "import typer, adapters.ai.openai_provider"])


def test_build_shared_ensemble_when_offline_analysts_only_then_no_llm_sdk_is_imported() -> None:
    modules = imported_after(
        """
        from adapters.ai.factory import build_shared_ensemble
        from config.settings import Settings
        shared = build_shared_ensemble(Settings(_env_file=None))
        assert [p.name for p in shared.ensemble.providers] == ["trend", "mean_reversion", "breakout"]
        """
    )
    assert modules & {"openai", "anthropic"} == set()


@pytest.mark.parametrize(
    ("setting", "imported", "not_imported"),
    [
        ("openai_api_key='sk-test-0123456789abcdef'", "openai", "anthropic"),
        ("anthropic_api_key='sk-ant-test-0123456789abcdef'", "anthropic", "openai"),
        ("openai_compatible_base_url='http://127.0.0.1:9/v1'", "openai", "anthropic"),
    ],
)
def test_build_providers_when_one_llm_configured_then_only_its_sdk_is_imported(
    setting: str, imported: str, not_imported: str
) -> None:
    modules = imported_after(
        f"""
        from adapters.ai.factory import build_providers
        from config.settings import Settings
        build_providers(Settings(_env_file=None, {setting}))
        """
    )
    assert modules & {imported, not_imported} == {imported}


def modules_after(script: str) -> set[str]:
    """Every module (dotted names) in sys.modules after SCRIPT ran in a fresh interpreter."""
    tail = "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    result = _python("-c", textwrap.dedent(script) + tail)
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_backtest_import_when_offline_then_no_metrics_registry_or_answer_schema_is_imported() -> None:
    # an offline backtest counts nothing for /metrics and parses no LLM answer: prometheus_client and the pydantic
    # answer schema come with the first CountingNotifier / parse_decision (the second script, so this can fail)
    lazy = {"prometheus_client", "telemetry", "adapters.ai.parsing_schema"}
    imports = "import engine.backtest, config.settings\n"
    used = """
        from decimal import Decimal
        from adapters.ai.parsing import parse_decision
        from engine.notifier import CountingNotifier, NullNotifier
        CountingNotifier(NullNotifier())
        parse_decision('{"action": "HOLD", "confidence": 0.5}', Decimal(1))
        """
    assert modules_after(imports) & lazy == set()
    assert modules_after(imports + textwrap.dedent(used)) & lazy == lazy
