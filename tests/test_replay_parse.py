"""replay/parse.py: combined and JSON lines, escapes, times, gzip by content, truncated and binary input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from fixative.replay.parse import (BAD_REQUEST, BAD_TIME, NOT_A_LOG_LINE, TRUNCATED, BadLine, LogFile, LogLine,
                                   Malformed, _parse_plain, parse_clf_time, parse_combined, parse_json, read_log)

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
T0 = 1_793_491_200.0  # 01/Nov/2026:00:00:00 +0000


@pytest.mark.parametrize("line, expected", [
    (f'203.0.113.7 - - [01/Nov/2026:00:00:00 +0000] "GET /gallery/1.html HTTP/1.1" 200 5120 "-" "{CHROME}"',
     LogLine("203.0.113.7", T0, "GET", "/gallery/1.html", 200, 5120, None, CHROME)),
    ('2001:db8::7 - frank [01/Nov/2026:01:00:00 +0100] "HEAD /a.jpg?x=1 HTTP/2.0" 304 - '
     '"https://example.com/p?q=\\"x\\"" "curl/8.7.1"',  # Apache escapes quotes with a backslash
     LogLine("2001:db8::7", T0, "HEAD", "/a.jpg?x=1", 304, 0, 'https://example.com/p?q="x"', "curl/8.7.1")),
    ('198.51.100.2 - - [01/Nov/2026:00:00:00 -0030] "GET / HTTP/1.0" 200 10 "-" "a\\x22b\\x5Cc"',  # nginx \xHH
     LogLine("198.51.100.2", T0 + 1800, "GET", "/", 200, 10, None, 'a"b\\c')),
    ('198.51.100.2 - - [01/Nov/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 10',  # common format: no UA
     LogLine("198.51.100.2", T0, "GET", "/", 200, 10, None, None)),
    ('198.51.100.2 - - [01/Nov/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 10 "-" "-" 0.003 "extra"',
     LogLine("198.51.100.2", T0, "GET", "/", 200, 10, None, None)),
    ('198.51.100.2 - - [01/Nov/2026:00:00:00 +0000] "GET http://example.com/x HTTP/1.1" 404 0 "" ""',
     LogLine("198.51.100.2", T0, "GET", "http://example.com/x", 404, 0, None, None)),
])
def test_combined_lines(line: str, expected: LogLine) -> None:
    assert parse_combined(line) == expected


@pytest.mark.parametrize("line, reason", [
    ("", NOT_A_LOG_LINE),
    ("\x00\x01\x02 binary", NOT_A_LOG_LINE),
    ('{"ip": "1.2.3.4"}', NOT_A_LOG_LINE),
    ('203.0.113.7 - - [01/Nov/2026:00:00:00 +0000] "\\x16\\x03\\x01\\x02\\x00" 400 0 "-" "-"', BAD_REQUEST),
    ('203.0.113.7 - - [01/Nov/2026:00:00:00 +0000] "-" 400 0 "-" "-"', BAD_REQUEST),
    ('203.0.113.7 - - [01/Nov/2026:00:00:00 +0000] "GET /a b HTTP/1.1" 400 0 "-" "-"', BAD_REQUEST),
    ('203.0.113.7 - - [31/Feb/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 0 "-" "-"', BAD_TIME),
    ('203.0.113.7 - - [yesterday] "GET / HTTP/1.1" 200 0 "-" "-"', BAD_TIME),
    ('203.0.113.7 - - [01/Nov/2026:00:00:00 +0000] "GET / HTTP/1.1" 200', NOT_A_LOG_LINE),
])
def test_lines_that_are_not_requests(line: str, reason: str) -> None:
    with pytest.raises(BadLine) as caught:
        parse_combined(line)
    assert caught.value.args[0] == reason


def test_fast_path_agrees_with_the_regular_expression() -> None:
    """Lines without escapes take a split-based path; it must read exactly what the regex reads."""
    from fixative.replay import parse

    lines = [
        f'203.0.113.{n} - u{n} [0{n % 9 + 1}/Nov/2026:0{n % 10}:1{n % 6}:00 +0{n % 3}00] '
        f'"{("GET", "HEAD", "POST", "PROPFIND")[n % 4]} /{"x" * n}?q={n} HTTP/1.{n % 2}" {200 + n} {n * 7} '
        f'"{"-" if n % 3 else "https://ref.example/" + str(n)}" "agent {n}/1.0 (x; y)"'
        for n in range(40)
    ]
    lines += ['1.2.3.4 - - [01/Nov/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 0', '1.2.3.4 - - [x] "GET / X" 200 0 "-" "-"']
    for line in lines:
        slow = parse._COMBINED.match(line)
        fast = _parse_plain(line)
        if fast is None:
            continue
        assert slow is not None, line
        ip, when, request, status, size, referer, agent = slow.groups()
        method, path = parse.split_request(request)
        assert fast == LogLine(ip, parse_clf_time(when), method, path, int(status), int(size),
                               parse._optional(referer), parse._optional(agent)), line
    assert sum(_parse_plain(line) is not None for line in lines) == 41  # all but the bad request


@pytest.mark.parametrize("record, expected", [
    ({"remote_addr": "203.0.113.7", "time_iso8601": "2026-11-01T01:00:00+01:00", "request": "GET /a.png HTTP/1.1",
      "status": "200", "body_bytes_sent": "99", "http_referer": "-", "http_user_agent": CHROME},
     LogLine("203.0.113.7", T0, "GET", "/a.png", 200, 99, None, CHROME)),
    ({"ip": "203.0.113.7", "time": T0, "method": "get", "path": "/", "status": 404, "user_agent": "curl/8"},
     LogLine("203.0.113.7", T0, "GET", "/", 404, 0, None, "curl/8")),
    ({"client_ip": "203.0.113.7", "msec": f"{T0:.3f}", "request_method": "GET", "request_uri": "/p?x",
      "referer": "https://a.example/"},
     LogLine("203.0.113.7", T0, "GET", "/p?x", 0, 0, "https://a.example/", None)),
    ({"ts": T0, "status": 200, "size": 5, "request": {"client_ip": "203.0.113.9", "method": "GET", "uri": "/x.jpg",
      "headers": {"User-Agent": [CHROME], "Referer": ["https://b.example/"]}}},  # Caddy
     LogLine("203.0.113.9", T0, "GET", "/x.jpg", 200, 5, "https://b.example/", CHROME)),
    ({"ip": "203.0.113.7", "time_local": "01/Nov/2026:00:00:00 +0000", "request": "GET / HTTP/1.1"},
     LogLine("203.0.113.7", T0, "GET", "/", 0, 0, None, None)),
])
def test_json_lines(record: dict, expected: LogLine) -> None:
    assert parse_json(json.dumps(record)) == expected


@pytest.mark.parametrize("text, reason", [
    ("not json", NOT_A_LOG_LINE), ("[1, 2]", NOT_A_LOG_LINE), ('{"time": 1}', NOT_A_LOG_LINE),
    ('{"ip": "1.2.3.4", "time": 1, "request": "-"}', BAD_REQUEST),
    ('{"ip": "1.2.3.4", "time": "soon", "path": "/", "method": "GET"}', BAD_TIME),
])
def test_json_lines_that_are_not_requests(text: str, reason: str) -> None:
    with pytest.raises(BadLine) as caught:
        parse_json(text)
    assert caught.value.args[0] == reason


LINES = [f'203.0.113.7 - - [01/Nov/2026:00:00:0{n} +0000] "GET /{n}.jpg HTTP/1.1" 200 1 "-" "curl/8.7.1"'
         for n in range(5)]


def _read(path: Path, fmt: str = "auto") -> tuple[list[LogLine], Malformed, LogFile]:
    log, bad = LogFile(path), Malformed()
    try:
        return list(read_log(log, fmt, bad)), bad, log
    finally:
        log.close()


def test_gzip_is_recognised_by_content_not_name(tmp_path: Path) -> None:
    (tmp_path / "access.log").write_bytes(gzip.compress("\n".join(LINES).encode()))
    lines, bad, log = _read(tmp_path / "access.log")
    assert log.compressed and [line.path for line in lines] == [f"/{n}.jpg" for n in range(5)]
    assert bad.total == 0


def test_truncated_gzip_keeps_what_came_before_the_cut(tmp_path: Path) -> None:
    body = gzip.compress(("\n".join(LINES * 400) + "\n").encode())
    (tmp_path / "cut.log.gz").write_bytes(body[: len(body) // 2])
    lines, bad, log = _read(tmp_path / "cut.log.gz")
    assert log.truncated and bad.counts[TRUNCATED] == 1 and bad.total <= 1  # at most the half line at the cut
    assert 100 < len(lines) < 2000


def test_garbage_lines_are_counted_with_examples(tmp_path: Path) -> None:
    (tmp_path / "mixed.log").write_bytes(("\n".join([LINES[0], "garbage", "", LINES[1]]) + "\n").encode()
                                         + b"\xff\xfe\x00binary\n" + LINES[2].encode() + b"\r\n")
    lines, bad, _ = _read(tmp_path / "mixed.log")
    assert len(lines) == 3 and bad.counts == {NOT_A_LOG_LINE: 2}
    assert bad.examples[0][0] == 2 and "garbage" in bad.examples[0][1]


def test_format_is_detected_from_the_first_line(tmp_path: Path) -> None:
    (tmp_path / "j.log").write_text(json.dumps({"ip": "1.2.3.4", "time": T0, "path": "/", "method": "GET"}) + "\n")
    lines, bad, _ = _read(tmp_path / "j.log")
    assert lines[0].ip == "1.2.3.4" and bad.total == 0
    lines, bad, _ = _read(tmp_path / "j.log", "combined")  # forced: every line is malformed
    assert lines == [] and bad.counts == {NOT_A_LOG_LINE: 1}


def test_empty_and_binary_files(tmp_path: Path) -> None:
    (tmp_path / "empty.log").write_bytes(b"")
    assert _read(tmp_path / "empty.log")[:2][0] == []
    (tmp_path / "photo.jpg").write_bytes(bytes(range(256)) * 64)
    lines, bad, _ = _read(tmp_path / "photo.jpg")
    assert lines == [] and bad.total > 0
