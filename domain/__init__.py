"""Typed domain objects that flow through the trading cycle.

Pure data: no I/O, no SDK imports. Every layer (bot, engine, risk, adapters, db) may import this package.
"""
