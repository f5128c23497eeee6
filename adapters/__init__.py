"""Adapters behind the engine's ports: exchanges, AI providers, news."""
