"""Transport-neutral HTTP request and response values passed along the request pipeline.

The ASGI app builds an `HttpRequest` once; authentication, routing and protocol parsing all read
from it, so no layer depends on the ASGI server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote


class Headers:
    """Case-insensitive, multi-valued HTTP headers that keep their original order and spelling."""

    __slots__ = ("_index", "_items")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = list(items)
        self._index: dict[str, list[str]] = {}
        for name, value in self._items:
            self._index.setdefault(name.lower(), []).append(value)

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self._index.get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        return list(self._index.get(name.lower(), ()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def keys_lower(self) -> list[str]:
        return list(self._index)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass
class HttpRequest:
    """One request as received.

    `raw_path` is the path exactly as sent on the wire (still percent-encoded), because signatures
    are computed over it; `path` is its decoded form. `query_string` is the raw query string.
    `body` holds the whole body when it has been read; streaming uploads leave it None and use
    `stream` instead.
    """

    method: str
    raw_path: str
    query_string: str
    headers: Headers
    body: bytes | None = b""
    stream: AsyncIterator[bytes] | None = None
    client_ip: str = "127.0.0.1"
    scheme: str = "http"
    # Set when the request line carried an absolute URI (proxy form): its host wins for routing.
    absolute_host: str | None = None

    # Parsed forms, each kept with the raw value it was parsed from (a request read several
    # times by routing, authentication and the codec is parsed once; a changed value re-parses).
    _path_cache: tuple[str, str] | None = field(default=None, init=False, repr=False, compare=False)
    _query_cache: tuple[str, tuple[tuple[str, str], ...]] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    form_cache: tuple[object, tuple[tuple[str, str], ...]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def path(self) -> str:
        cached = self._path_cache
        if cached is None or cached[0] is not self.raw_path:
            cached = self._path_cache = (self.raw_path, unquote(self.raw_path))
        return cached[1]

    @property
    def host(self) -> str:
        return self.absolute_host or self.headers.get("host", "") or ""

    def query_items(self) -> list[tuple[str, str]]:
        cached = self._query_cache
        if cached is None or cached[0] is not self.query_string:
            items = parse_query(self.query_string)
            cached = self._query_cache = (self.query_string, items)
        return list(cached[1])

    def query(self) -> dict[str, str]:
        return dict(self.query_items())


def parse_query(query: str) -> tuple[tuple[str, str], ...]:
    """Decoded (name, value) pairs in order, as `urllib.parse.parse_qsl(keep_blank_values=True)`
    gives them ('+' is a space, invalid UTF-8 replaced), without decoding what needs none."""
    items: list[tuple[str, str]] = []
    for segment in query.split("&"):
        if not segment:
            continue
        name, _, value = segment.partition("=")
        if "%" in name or "+" in name:
            name = unquote(name.replace("+", " "))
        if "%" in value or "+" in value:
            value = unquote(value.replace("+", " "))
        items.append((name, value))
    return tuple(items)


@dataclass
class HttpResponse:
    """A response ready to send: a fixed body, or an async iterator of chunks for streaming."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None
