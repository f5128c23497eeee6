"""Quorum application wiring: settings, logging and the `quorum` command line."""

__version__ = "0.1.0"
