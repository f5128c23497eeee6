"""Telegram, console and admin-CLI transports: parse, authorize, call the service, render."""
