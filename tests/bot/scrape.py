"""Read a running Quorum's HTTP endpoint over real HTTP: /healthz, /readyz as JSON, /metrics parsed."""

from __future__ import annotations

from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def get(base_url: str, path: str) -> tuple[int, str, str]:
    """(status, content type, body) of GET base_url + path."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        async with session.get(base_url + path) as response:
            return response.status, response.headers.get("Content-Type", ""), await response.text()


async def get_json(base_url: str, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        async with session.get(base_url + path) as response:
            return response.status, await response.json()


async def scrape(base_url: str) -> Samples:
    status, content_type, text = await get(base_url, "/metrics")
    assert status == 200 and content_type.startswith("text/plain"), (status, content_type)
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)
