"""The exchange port and its live (CCXT), paper and replay implementations."""
