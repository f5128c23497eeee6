"""Local stand-ins for outside services that tests drive over real HTTP (the Telegram Bot API)."""
