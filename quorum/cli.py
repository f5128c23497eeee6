"""The `quorum` command line: one console script, one sub-command per job.

Start-up stays light: this module and the sub-command modules import typer and the domain only; settings,
logging, the database, the SDKs and the engine are imported inside the commands that use them
(tests/core/test_startup.py counts the modules `quorum --help` imports).
"""

from __future__ import annotations

import typer

from quorum.cli_admin import admin_app
from quorum.cli_backtest import backtest
from quorum.cli_data import data_app
from quorum.cli_demo import demo
from quorum.cli_run import run

app = typer.Typer(
    help="Quorum: a Telegram-first, multi-user crypto trading bot.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold credentials
)
app.add_typer(admin_app, name="admin")
app.command("demo")(demo)
app.command("backtest")(backtest)
app.command("run")(run)

app.add_typer(data_app, name="data", help="Historical market data.")


@app.callback()
def _setup() -> None:
    from quorum.admin_service import settings_or_fail
    from quorum.log import configure_logging
    from quorum.runtime import register_settings_secrets

    settings = settings_or_fail()
    configure_logging(settings.log_level, settings.log_json)
    register_settings_secrets(settings)


if __name__ == "__main__":
    app()
