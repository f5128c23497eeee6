"""A Bot API request's parameters, read the way Telegram reads them from any of its accepted encodings."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from tests.fakes.telegram_model import JSON, bad_request


def scope_key(scope: JSON | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


class Params:
    """A request's parameters, however they came: query string, JSON body, url-encoded form or multipart."""

    def __init__(self, values: JSON, files: dict[str, bytes]) -> None:
        self.values = values
        self.files = files

    def logged(self) -> JSON:
        return {**self.values, **{name: f"<upload {len(content)} bytes>" for name, content in self.files.items()}}

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return None if value is None else str(value)

    def integer(self, name: str, missing: str | None = None) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if missing is not None:
                raise bad_request(missing)
            return None
        try:
            return int(float(value)) if isinstance(value, str) and "." in value else int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        return self.values.get(name) in (True, 1, "true", "True", "1")

    def json(self, name: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return value


async def read_params(request: web.Request) -> Params:
    values: JSON = dict(request.query)
    files: dict[str, bytes] = {}
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON request body") from None
        if not isinstance(body, dict):
            raise bad_request("JSON request body must be an object")
        values.update(body)
    elif request.body_exists:
        for name, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                files[name] = value.file.read()
            else:
                values[name] = value
    return Params(values, files)
