"""Quorum's procrastinate tasks: one pair's step at one tick, on whichever worker takes the job.

- run_cycle(user_id, symbol, candle_ts): at a cycle boundary; the engine monitors, then runs the cycle.
- monitor_pair(user_id, symbol, tick_ts): between cycles; the engine books fills, stops and take profits.
- close_position(user_id, symbol, ts), resume_breakers(user_id, ts): /close and a breaker's /resume from the
  gateway (distributed/control.py), done by the worker's engine through the manager's own control.

Both are PairEngine.step, the call the single-process manager makes (WorkerNode.step_pair). Every job of a user
carries the lock `user:<id>`: no two jobs of one user run at once, so a pair never runs two cycles at once and
the user's book (the user-wide daily-loss breaker, the paper ledger a user's pairs share) is never written by
two workers at once. A queueing lock per (kind, user, symbol) keeps at most one such job waiting.

A failed job is retried (RETRY): it builds the engine afresh, which reconciles every unresolved order by client
order id before it trades, and the per-candle guard (user_pairs.last_candle_ts) keeps a candle from being
processed twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from procrastinate import Blueprint, JobContext, RetryStrategy

if TYPE_CHECKING:
    from distributed.node import WorkerNode

NAMESPACE = "quorum"
CYCLE = "run_cycle"
MONITOR = "monitor_pair"
CLOSE, RESUME = "close_position", "resume_breakers"
CYCLE_TASK, MONITOR_TASK = f"{NAMESPACE}:{CYCLE}", f"{NAMESPACE}:{MONITOR}"
CLOSE_TASK, RESUME_TASK = f"{NAMESPACE}:{CLOSE}", f"{NAMESPACE}:{RESUME}"
QUEUE = "engines"
RETRY = RetryStrategy(max_attempts=3, wait=1)

blueprint = Blueprint()


def user_lock(user_id: int) -> str:
    return f"user:{user_id}"


def queueing_lock(task: str, user_id: int, symbol: str) -> str:
    return f"{task.rpartition(':')[2]}:{user_id}:{symbol}"


def _node(context: JobContext) -> WorkerNode:
    return context.additional_context["node"]


@blueprint.task(name=CYCLE, queue=QUEUE, pass_context=True, retry=RETRY)
async def run_cycle(context: JobContext, user_id: int, symbol: str, candle_ts: int) -> str:
    return await _node(context).step_pair(user_id, symbol, candle_ts, context.job)


@blueprint.task(name=MONITOR, queue=QUEUE, pass_context=True, retry=RETRY)
async def monitor_pair(context: JobContext, user_id: int, symbol: str, tick_ts: int) -> str:
    return await _node(context).step_pair(user_id, symbol, tick_ts, context.job)


# What the gateway's service asks of an engine (distributed/control.py), under the same user lock as the cycles.
# Never retried: a failed close is reported to the user, who asks again (a new job reconciles the exit first).


@blueprint.task(name=CLOSE, queue=QUEUE, pass_context=True)
async def close_position(context: JobContext, user_id: int, symbol: str, ts: int) -> str:
    return await _node(context).close_position(user_id, symbol, ts)


@blueprint.task(name=RESUME, queue=QUEUE, pass_context=True)
async def resume_breakers(context: JobContext, user_id: int, ts: int) -> str:
    return await _node(context).resume_breakers(user_id, ts)
