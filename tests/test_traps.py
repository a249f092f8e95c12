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
