"""Alembic migrations (env.py, versions/) and the SQL views; run them with `quorum admin migrate`."""
