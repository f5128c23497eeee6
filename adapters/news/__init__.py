"""News feeds and sentiment."""
