"""Access-log lines to LogLine values: nginx/Apache combined format or JSON lines, plain or gzip.

Pure and forgiving: a line that is not a log line is counted under a reason in `Malformed`, never
raised. `read_log` opens a file (gzip recognised by its magic bytes, not its name), picks the format,
and yields LogLines in file order; a truncated gzip stream ends the input early with a note.

JSON lines: one object per line; keys are looked for in this order (nginx variable names work, and
Caddy's nested `request` object):
  address    ip, remote_addr, client_ip, clientip, remote_ip (request.client_ip, request.remote_ip)
  time       time, timestamp, ts, msec, time_iso8601, time_local, @timestamp (epoch seconds,
             ISO 8601, or the combined format's 10/Oct/2000:13:55:36 -0700)
  request    method + path (path, request_uri, uri, url), or request: "GET /path HTTP/1.1"
  status     status (optional), bytes: bytes, body_bytes_sent, bytes_sent, size (optional)
  referer    referer, referrer, http_referer (optional; Caddy: request.headers.Referer)
  user agent user_agent, http_user_agent, agent, ua (optional; Caddy: request.headers.User-Agent)
"""

from __future__ import annotations

import gzip
import io
import json
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, NamedTuple

COMBINED = "combined"
JSON = "json"
AUTO = "auto"
FORMATS = (AUTO, COMBINED, JSON)
GZIP_MAGIC = b"\x1f\x8b"

# Reasons a line is skipped, as counted in Malformed.
NOT_A_LOG_LINE = "not a log line"
BAD_REQUEST = "no HTTP request in it"
BAD_TIME = "unreadable time"
TRUNCATED = "truncated gzip"


class LogLine(NamedTuple):
    """One request as an access log records it. user_agent and referer are None when logged as '-'."""

    ip: str
    time: float
    method: str
    path: str
    status: int
    size: int
    referer: str | None
    user_agent: str | None


class Malformed:
    """Skipped lines: counts by reason (NOT_A_LOG_LINE, BAD_REQUEST, BAD_TIME, TRUNCATED), a few examples."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.examples: list[tuple[int, str]] = []  # (line number, reason: start of the line)

    def note(self, reason: str, number: int, line: str) -> None:
        self.counts[reason] += 1
        if len(self.examples) < 5:
            self.examples.append((number, f"{reason}: {line[:120]!r}"))

    def merge(self, other: Malformed) -> None:
        self.counts.update(other.counts)
        self.examples = sorted([*self.examples, *other.examples])[:5]

    @property
    def total(self) -> int:
        """Skipped lines (a truncated gzip stream is noted, not counted as a line)."""
        return sum(n for reason, n in self.counts.items() if reason != TRUNCATED)


class BadLine(ValueError):
    """A line that cannot be read; args[0] is one of the reasons above."""


_QUOTED = r'"([^"\\]*(?:\\.[^"\\]*)*)"'
_COMBINED = re.compile(
    r'(\S+) \S+ \S+ \[([^\]]+)\] ' + _QUOTED + r' (\d{3}|-) (\d+|-)(?: ' + _QUOTED + ' ' + _QUOTED + ')?')
_REQUEST = re.compile(r"([A-Z][A-Za-z-]{0,19}) (\S+)(?: HTTP/\d(?:\.\d)?)?\Z")
_METHOD = re.compile(r"[A-Z][A-Za-z-]{0,19}\Z")
_PROTOCOL = re.compile(r"HTTP/\d(?:\.\d)?\Z")
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|.)")
_MONTHS = {m: n for n, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_CLF_TIME = re.compile(r"(\d{1,2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?: ([+-])(\d{2})(\d{2}))?\Z")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def _unescape(value: str) -> str:
    """nginx writes \\xHH for quotes, backslashes and control bytes; Apache \\" \\\\ \\n \\t and \\xHH."""
    if "\\" not in value:
        return value
    return _ESCAPE.sub(lambda m: chr(int(m.group(1)[1:], 16)) if len(m.group(1)) == 3
                       else _ESCAPES.get(m.group(1), m.group(1)), value)


def _optional(value: str | None) -> str | None:
    if value is None or value == "-" or value == "":
        return None
    return _unescape(value)


_time_cache: dict[str, float] = {}


def parse_clf_time(text: str) -> float:
    """'10/Oct/2000:13:55:36 -0700' → epoch seconds (no zone: UTC); BadLine(BAD_TIME) if unreadable."""
    cached = _time_cache.get(text)
    if cached is not None:
        return cached
    m = _CLF_TIME.match(text)
    month = _MONTHS.get(m.group(2)) if m else None
    if m is None or month is None:
        raise BadLine(BAD_TIME)
    day, _, year, hour, minute, second, sign, zh, zm = m.groups()
    try:
        moment = datetime(int(year), month, int(day), int(hour), int(minute), int(second), tzinfo=timezone.utc)
    except ValueError:
        raise BadLine(BAD_TIME) from None
    offset = (int(zh) * 60 + int(zm)) * 60 if sign else 0
    value = moment.timestamp() - (offset if sign == "+" else -offset)
    if len(_time_cache) > 4096:  # lines come in time order: a small cache holds the current seconds
        _time_cache.clear()
    _time_cache[text] = value
    return value


def split_request(request: str) -> tuple[str, str]:
    """'GET /a?b HTTP/1.1' → ('GET', '/a?b'); BadLine(BAD_REQUEST) for '-', TLS bytes and the like."""
    m = _REQUEST.match(request)
    if m is None:
        raise BadLine(BAD_REQUEST)
    return m.group(1), m.group(2)


def parse_combined(line: str) -> LogLine:
    """One combined (or common) format line; BadLine naming the reason if it is not one."""
    if "\\" not in line:
        fast = _parse_plain(line)
        if fast is not None:
            return fast
    m = _COMBINED.match(line)
    if m is None:
        raise BadLine(NOT_A_LOG_LINE)
    ip, when, request, status, size, referer, agent = m.groups()
    method, path = split_request(_unescape(request))
    return LogLine(ip, parse_clf_time(when), method, path, int(status) if status != "-" else 0,
                   int(size) if size != "-" else 0, _optional(referer), _optional(agent))


def _parse_plain(line: str) -> LogLine | None:
    """The common case (no escapes) by splitting at quotes, five times faster than the regular
    expression; None for anything irregular, which then goes the regular expression's way."""
    parts = line.split('"')
    referer: str | None
    agent: str | None
    if len(parts) >= 7 and parts[4] == " ":
        referer, agent = parts[3], parts[5]
    elif len(parts) == 3:
        referer = agent = None
    else:
        return None
    head, request, middle = parts[0], parts[1], parts[2].split(" ")
    bracket = head.find(" [")
    if not head.endswith("] ") or bracket < 0 or len(middle) < 3 or middle[0] != "" or \
            len(head[:bracket].split(" ")) != 3 or (referer is not None and middle[3:] != [""]):
        return None
    status, size = middle[1], middle[2]
    bits = request.split(" ")
    if not (len(bits) == 2 or (len(bits) == 3 and bits[2].startswith("HTTP/"))) or not _METHOD.match(bits[0]) \
            or not bits[1] or not (status.isdigit() and len(status) == 3 or status == "-") \
            or not (size.isdigit() or size == "-"):
        return None
    if len(bits) == 3 and not _PROTOCOL.match(bits[2]):
        return None
    return LogLine(head[:head.index(" ")], parse_clf_time(head[bracket + 2:-2]), bits[0], bits[1],
                   int(status) if status != "-" else 0, int(size) if size != "-" else 0,
                   _optional(referer), _optional(agent))


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = obj.get(key)
        if value is not None and value != "":
            return value
    return None


def _header(headers: Any, name: str) -> str | None:
    if not isinstance(headers, dict):
        return None
    value = headers.get(name)
    return str(value[0]) if isinstance(value, list) and value else value if isinstance(value, str) else None


def parse_time_value(value: Any) -> float:
    """Epoch seconds (number or numeric string), ISO 8601, or the combined format's time."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        text = value.strip().strip("[]")
        try:
            return float(text)
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return parse_clf_time(text)
        return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
    raise BadLine(BAD_TIME)


def parse_json(line: str) -> LogLine:
    """One JSON-lines record with the keys in this module's docstring; BadLine naming the reason if not."""
    try:
        obj = json.loads(line)
    except ValueError:
        raise BadLine(NOT_A_LOG_LINE) from None
    if not isinstance(obj, dict):
        raise BadLine(NOT_A_LOG_LINE)
    request = obj.get("request")
    nested: dict[str, Any] = request if isinstance(request, dict) else {}
    ip = _first(obj, ("ip", "remote_addr", "client_ip", "clientip", "remote_ip")) \
        or _first(nested, ("client_ip", "remote_ip"))
    when = _first(obj, ("time", "timestamp", "ts", "msec", "time_iso8601", "time_local", "@timestamp"))
    if not isinstance(ip, str) or when is None:
        raise BadLine(NOT_A_LOG_LINE)
    method = _first(obj, ("method", "request_method")) or nested.get("method")
    path = _first(obj, ("path", "request_uri", "uri", "url")) or nested.get("uri")
    if (method is None or path is None) and isinstance(obj.get("request"), str):
        method, path = split_request(obj["request"])
    if not isinstance(method, str) or not isinstance(path, str) or not method or not path:
        raise BadLine(BAD_REQUEST)
    headers = nested.get("headers")
    referer = _first(obj, ("referer", "referrer", "http_referer")) or _header(headers, "Referer")
    agent = _first(obj, ("user_agent", "http_user_agent", "agent", "ua")) or _header(headers, "User-Agent")
    return LogLine(ip.strip(), parse_time_value(when), method.upper(), path, _int(obj.get("status")),
                   _int(_first(obj, ("bytes", "body_bytes_sent", "bytes_sent", "size"))),
                   _optional(str(referer)) if referer is not None else None,
                   _optional(str(agent)) if agent is not None else None)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


PARSERS: dict[str, Callable[[str], LogLine]] = {COMBINED: parse_combined, JSON: parse_json}


class LogFile:
    """An open access log: text lines, its size on disk and how far the reading has got (bytes on disk)."""

    def __init__(self, path: Path):
        self.path = path
        self.raw: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.size = path.stat().st_size
        self.compressed = self.raw.read(2) == GZIP_MAGIC
        self.raw.seek(0)
        stream: IO[bytes] = (gzip.GzipFile(fileobj=self.raw, mode="rb")  # type: ignore[assignment]
                             if self.compressed else self.raw)  # GzipFile is a binary stream: typeshed disagrees
        self.text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline=None)
        self.truncated = False

    def position(self) -> int:
        return self.raw.tell()

    def lines(self) -> Iterator[str]:
        """Every line without its end; stops early (truncated = True) where a gzip stream is cut short."""
        try:
            for line in self.text:
                yield line.rstrip("\r\n")
        except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as e:
            if not self.compressed:
                raise
            self.truncated = True
            del e

    def close(self) -> None:
        self.raw.close()


def detect_format(first: str) -> str:
    """json when the line is an object, else combined."""
    return JSON if first.lstrip().startswith("{") else COMBINED


def read_log(log: LogFile, fmt: str, malformed: Malformed) -> Iterator[LogLine]:
    """The LogLines of `log` in order; blank lines are ignored, others that fail go to `malformed`."""
    parse: Callable[[str], LogLine] | None = None if fmt == AUTO else PARSERS[fmt]
    for number, line in enumerate(log.lines(), 1):
        if not line.strip():
            continue
        if parse is None:
            parse = PARSERS[detect_format(line)]
        try:
            yield parse(line)
        except BadLine as e:
            malformed.note(str(e.args[0]), number, line)
    if log.truncated:
        malformed.note(TRUNCATED, 0, f"{log.path.name}: the gzip stream ends before its end marker")
