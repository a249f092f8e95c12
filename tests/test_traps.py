"""Trap links: hidden, per-install, injected before </body>."""

from __future__ import annotations

from fixative.traps import inject_trap, is_trap, trap_link_html, trap_prefix


def test_prefix_differs_per_install_and_matches_its_links():
    a, b = trap_prefix(b"a" * 32), trap_prefix(b"b" * 32)
    assert a != b and a.startswith("/") and a.endswith("/")
    link = trap_link_html(a, "/gallery/1.html", b"a" * 32).decode()
    href = link.split('href="', 1)[1].split('"', 1)[0]
    assert is_trap(href, a) and not is_trap("/gallery/1.html", a)
    assert 'rel="nofollow' in link and 'aria-hidden="true"' in link and 'tabindex="-1"' in link


def test_inject_before_last_body_end():
    html = b"<html><body><p>x</p><!-- </body> in a comment --></BODY></html>"
    out = inject_trap(html, b"<a>T</a>")
    assert out == b"<html><body><p>x</p><!-- </body> in a comment --><a>T</a></BODY></html>"
    assert inject_trap(b"no body", b"<a>T</a>") == b"no body<a>T</a>"


def test_inject_finds_the_last_body_end_whatever_its_spelling():
    link = b"<a>T</a>"
    cases = {
        b"<body>x</body >\n": b"<body>x<a>T</a></body >\n",                 # the usual one, found from the end
        b"<body>x</BODY><!-- </body> -->": b"<body>x</BODY><!-- <a>T</a></body> -->",  # a later lower-case one
        b"<body>x</Body></bodyguard>": b"<body>x<a>T</a></Body></bodyguard>",  # "</body" that is no end tag
        b"<body>x</body></BODY>": b"<body>x</body><a>T</a></BODY>",
        b"<p>x</p>": b"<p>x</p><a>T</a>",
    }
    for html, expected in cases.items():
        assert inject_trap(html, link) == expected, html
