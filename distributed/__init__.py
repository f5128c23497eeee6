"""Quorum on several machines: the same engine, run as procrastinate jobs by any number of workers.

`quorum run` stays one process. `quorum run --role gateway` runs Telegram, the service, the alert outbox and the
scheduler that defers one job per pair and tick; `quorum run --role worker` runs those jobs (engines only). The
jobs call the same PairEngine.step the single-process manager calls; PostgreSQL is the only thing shared.

Layering: this package sits at the engine's level. It may import engine, db, adapters, analysis, risk, config
and domain; bot (the transports) may import it; it never imports bot or quorum (tests/core/test_layers.py).
"""
