"""Configuration: one pydantic-settings object, below every layer that reads it (imports only domain/)."""
