"""Per-client state and behaviour signals: pure, with explicit clocks."""

from __future__ import annotations

import pytest

from fixative.behaviour.signals import behaviour_signals, is_orphan_image
from fixative.behaviour.sitemap import SiteMap, image_links
from fixative.behaviour.store import ClientStore
from fixative.facts import Facts

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"


def image(path: str = "/images/full/a.jpg", t: float = 100.0, **headers: str) -> Facts:
    hdrs = tuple((k.replace("_", "-"), v) for k, v in headers.items())
    return Facts(ip="192.0.2.1", user_agent=CHROME, path=path, headers=hdrs, time=t, host="gallery.example")


def test_store_is_bounded_and_evicts_least_recent():
    store = ClientStore(max_clients=100, ttl=60)
    for i in range(10_000):
        store.get(f"a:10.0.{i // 256}.{i % 256}", now=1000.0)
    assert len(store) == 100
    assert store.evicted == 9_900


def test_store_byte_cap_limits_entries():
    assert ClientStore(max_clients=1_000_000, max_bytes=1 << 20).max_clients < 1_000


def test_store_forgets_after_ttl():
    store = ClientStore(ttl=60)
    store.get("x", now=0).pages = 3
    assert store.get("x", now=30).pages == 3
    assert store.get("x", now=200).pages == 0


@pytest.mark.parametrize(
    ("headers", "pages", "orphan"),
    [
        ({}, 0, True),                                            # img2dataset, curl
        ({"Referer": "https://other.example/post"}, 0, False),    # hotlinked on another site
        ({"Sec-Fetch-Dest": "document"}, 0, False),               # a person opening the URL in a tab
        ({"Accept": "text/html,application/xhtml+xml"}, 0, False),  # the same over plain HTTP
        ({"Sec-Fetch-Dest": "image"}, 1, False),                  # after a page view
        ({"Sec-Fetch-Dest": "image"}, 0, True),
    ],
)
def test_orphan_image(headers, pages, orphan):
    store = ClientStore()
    state = store.get("c", now=0)
    state.pages = pages
    facts = image(**{k.replace("-", "_"): v for k, v in headers.items()})
    assert is_orphan_image(facts, state) is orphan
    assert ("behaviour.orphan_image" in behaviour_signals(facts, state)) is orphan


def test_rate_breadth_and_optout():
    state = ClientStore().get("c", now=0)
    for i in range(60):
        state.note_request(50 + i * 0.1, "image", f"/images/full/{i}.jpg", orphan=True)
    state.optout_seen = 10
    found = behaviour_signals(image(t=56.0), state)
    assert {"behaviour.rate", "behaviour.breadth", "behaviour.optout_ignored", "behaviour.orphan_image"} <= set(found)
    assert "requests in 10 s" in found["behaviour.rate"]


def test_person_paced_browsing_fires_nothing():
    state = ClientStore().get("c", now=0)
    sitemap = SiteMap()
    sitemap.learn("/gallery/1.html", b'<img src="/images/thumbs/a.jpg"><a href="/works/a.html">a</a>')
    t = 0.0
    for _ in range(5):
        state.note_request(t, "page", "/gallery/1.html", orphan=False)
        t += 1
        for n in range(8):
            state.note_request(t, "image", f"/images/thumbs/{n}.jpg", orphan=False)
        t += 20
    facts = image("/images/thumbs/a.jpg", t=t, Referer="http://gallery.example/gallery/1.html",
                  Sec_Fetch_Dest="image")
    assert behaviour_signals(facts, state, sitemap) == {}


def test_referer_mismatch_uses_what_the_page_shows():
    sitemap = SiteMap()
    sitemap.learn("/works/a.html", b'<img src="/images/full/a.jpg">')
    state = ClientStore().get("c", now=0)
    state.pages = 1
    ok = image("/images/full/a.jpg", Referer="http://gallery.example/works/a.html")
    wrong = image("/images/full/b.jpg", Referer="http://gallery.example/works/a.html")
    unknown = image("/images/full/b.jpg", Referer="http://gallery.example/works/zzz.html")
    assert "behaviour.referer_mismatch" not in behaviour_signals(ok, state, sitemap)
    assert "behaviour.referer_mismatch" in behaviour_signals(wrong, state, sitemap)
    assert "behaviour.referer_mismatch" not in behaviour_signals(unknown, state, sitemap)


def test_robots_and_trap_signals():
    state = ClientStore().get("c", now=0)
    state.robots_read = True
    assert "behaviour.robots_ignored" in behaviour_signals(image(), state, robots_disallowed=True)
    assert "behaviour.robots_ignored" not in behaviour_signals(image(), state, robots_disallowed=False)
    state.trapped = "/abc/x.html"
    assert behaviour_signals(image(), state)["trap.hit"].endswith("/abc/x.html")


def test_image_links_resolves_relative_refs_and_srcset():
    html = (b'<img src="../images/a.jpg" srcset="/images/b.webp 1x, /images/c.webp 2x">'
            b'<a href="https://gallery.example/images/d.png?x=1">d</a><a href="mailto:x@y">m</a>')
    assert image_links(html, "/works/page.html") == {"/images/a.jpg", "/images/b.webp", "/images/c.webp",
                                                     "/images/d.png"}


def test_sitemap_is_bounded():
    sitemap = SiteMap(max_pages=10)
    for i in range(100):
        sitemap.learn(f"/p{i}.html", b"")
    assert not sitemap.knows("/p0.html") and sitemap.knows("/p99.html")


def test_image_spree_needs_several_direct_opens_without_pages():
    state = ClientStore().get("c", now=0)
    nav = {"Sec_Fetch_Dest": "document"}
    for i, t in enumerate((10.0, 20.0)):
        facts = image(f"/images/full/{i}.jpg", t=t, **nav)
        assert "behaviour.image_spree" not in behaviour_signals(facts, state)
        state.note_request(t, "image", facts.path, False, direct_open=True)
    assert "behaviour.image_spree" in behaviour_signals(image("/images/full/9.jpg", t=30.0, **nav), state)
    assert "behaviour.image_spree" not in behaviour_signals(image("/images/full/9.jpg", t=500.0, **nav), state)


def test_lightbox_data_attributes_and_json_count_as_shown():
    html = b'<a data-full="/images/full/a.jpg"><img src="/t/a.jpg"></a><script>{"u":"\\/images\\/full\\/b.webp"}</script>'
    assert {"/images/full/a.jpg", "/images/full/b.webp"} <= image_links(html, "/works/x.html")
