"""Facts: what one request says, normalised once, for the pure classifier."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import MISSING, dataclass, field, fields
from functools import cached_property
from typing import Any

from .ja4 import TlsFingerprint

PAGE = "page"
IMAGE = "image"
OTHER = "other"
KINDS = (PAGE, IMAGE, OTHER)

IMAGE_EXTENSIONS = frozenset(
    ".jpg .jpeg .jpe .jfif .png .apng .webp .gif .avif .bmp .tif .tiff .svg .ico .heic .heif .jxl"
    .split()
)
PAGE_EXTENSIONS = frozenset(".html .htm .xhtml .php .asp .aspx .jsp .shtml".split())
LOGGED_HEADERS = frozenset({"user-agent", "referer"})  # all an access log shows of a request's headers


@dataclass(frozen=True)
class ReverseDns:
    """What forward-confirmed reverse DNS said about the client address, found before classifying.

    name: the host name the address's PTR record gives and whose A/AAAA records include the address
    again (lower case, no final dot), or None when nothing was confirmed; detail: why, for reasons.
    """

    name: str | None
    detail: str


@dataclass(frozen=True)
class Facts:
    """One request as the classifier sees it.

    headers keeps the client's order and casing; header() looks up case-insensitively.
    from_log: the request comes from an access log (`fixative replay`), which shows only LOGGED_HEADERS:
    its other headers, their order and the cookie are unknown, not absent, and must not count against it.
    """

    ip: str
    user_agent: str | None
    path: str = "/"
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    secure: bool = False
    time: float = 0.0
    kind: str = field(default="")
    host: str | None = None  # the Host the client asked for (not the origin's)
    tls: TlsFingerprint | None = None  # the client's TLS handshake, when Fixative terminated TLS itself
    from_log: bool = False
    rdns: ReverseDns | None = None  # None: not looked up (no rule needed it, or lookups are off)

    def __post_init__(self) -> None:
        if not self.kind:
            object.__setattr__(self, "kind", resource_kind(self.path, self.header("accept")))

    @cached_property
    def _header_map(self) -> dict[str, str]:
        return header_map(self.headers)

    @cached_property
    def header_names(self) -> tuple[str, ...]:
        """The request's header names in order, lower case."""
        return tuple(name.lower() for name, _ in self.headers)

    def header(self, name: str) -> str | None:
        """The header's value (repeated headers joined by ', '), or None if absent."""
        return self._header_map.get(name.lower())

    def header_values(self, names: tuple[str, ...]) -> tuple[str | None, ...]:
        """header() of each of these lower-case names, at once."""
        return tuple(map(self._header_map.get, names))

    @property
    def secure_context(self) -> bool:
        """Would a browser treat this origin as secure (HTTPS, or localhost), and so send Sec-Fetch-*?"""
        return self.secure or is_local_host(self.host)


_DEFAULTS = {f.name: f.default for f in fields(Facts) if f.default is not MISSING}


def header_map(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """What Facts.header reads: lower-case names, a repeated header's values joined by ', '."""
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged


def facts_with_header_map(header_map: dict[str, str], **values: Any) -> Facts:
    """Facts(**values), its header map already built (what Facts.header reads: lower-case names, repeated
    headers joined by ', '), made without the frozen dataclass's __init__ for the proxy's hot path.
    `ip` and `user_agent` are required, as for Facts(); an empty kind is guessed as __post_init__ does."""
    data = dict(_DEFAULTS)
    data.update(values)
    if not data["kind"]:
        data["kind"] = resource_kind(data["path"], header_map.get("accept"))
    data["_header_map"] = header_map
    facts = object.__new__(Facts)
    object.__setattr__(facts, "__dict__", data)
    return facts


LOCAL_HOSTS = ("localhost", "127.", "[::1]", "::1")


def is_local_host(host: str | None) -> bool:
    """localhost, 127.0.0.0/8 and ::1 (with or without a port) are secure contexts even over HTTP."""
    if not host:
        return False
    name = host.lower()
    return name.startswith(LOCAL_HOSTS) or name.split(":", 1)[0].endswith(".localhost")


def resource_kind(path: str, accept: str | None = None) -> str:
    """Guess page, image or other from the path's extension, then the Accept header."""
    clean = path.split("?", 1)[0].split("#", 1)[0]
    ext = posixpath.splitext(clean)[1].lower()
    if ext in IMAGE_EXTENSIONS:
        return IMAGE
    if ext in PAGE_EXTENSIONS or clean.endswith("/") or not ext:
        if accept and accept.startswith("image/"):
            return IMAGE
        return PAGE
    return OTHER


def kind_of_content_type(content_type: str | None) -> str | None:
    """page, image or other from a response Content-Type; None when there is none."""
    if not content_type:
        return None
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime.startswith("image/"):
        return IMAGE
    if mime in ("text/html", "application/xhtml+xml"):
        return PAGE
    return OTHER
