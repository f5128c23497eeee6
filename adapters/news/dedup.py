"""Recognise the same story served by several feeds or twice by one: by normalised URL or by title."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from domain.snapshot import NewsItem

_TRACKING_PREFIXES = ("utm_", "mc_", "fbclid", "gclid", "ref", "source", "cmpid")


def normalise_url(url: str) -> str:
    """Lower-case scheme and host, no www, no tracking parameters, no fragment, no trailing slash."""
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query) if not k.lower().startswith(_TRACKING_PREFIXES)))
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https" if parts.scheme in ("http", "https") else parts.scheme, host, path, query, ""))


def title_key(title: str) -> str:
    """Hash of the title folded to lower-case ASCII words, so punctuation and case do not matter."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", folded)
    return hashlib.sha1(" ".join(words).encode()).hexdigest()


def deduplicate(items: Iterable[NewsItem]) -> list[NewsItem]:
    """Keep the earliest-published copy of each story (first seen wins on equal times)."""
    seen_urls: set[str] = set()
    seen_titles: set[str] = set()
    unique: list[NewsItem] = []
    for item in sorted(items, key=lambda news: news.published_at):
        url, title = normalise_url(item.url) if item.url else "", title_key(item.title)
        if (url and url in seen_urls) or title in seen_titles:
            continue
        if url:
            seen_urls.add(url)
        seen_titles.add(title)
        unique.append(item)
    return unique
