"""AI analysts: provider port, SDK-backed providers, offline analysts and consensus."""
