"""Build the demo portfolio as a static site on disk, once.

`build_site(root)` writes pages, images, robots.txt, sitemap.xml, a press-kit ZIP and a
favicon, then a marker file; later calls with the same version and artist return at once.
"""

from __future__ import annotations

import io
import logging
import random
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from PIL import Image, ImageDraw

from . import pages
from .artworks import render_files, slugify
from .catalog import Work, gallery_pages, gallery_url, list_works

__all__ = ["SITE_VERSION", "Work", "build_site", "list_works", "site_url"]

log = logging.getLogger(__name__)

# Bump whenever the generated output changes, so existing builds are redone.
SITE_VERSION = "1"
MARKER = ".fixative-demo-site"
FEATURED = (1, 6, 11, 12, 17, 22)  # a mix of formats and subjects for the home page
PRESS_KIT_RANDOM_BYTES = 2 * 1024 * 1024
ZIP_DATE = (2024, 3, 1, 12, 0, 0)  # fixed so the ZIP is byte-identical across builds

STYLE_CSS = """\
:root { --ink: #2b2622; --muted: #7a7068; --paper: #faf7f2; --line: #e4ddd2; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--paper); color: var(--ink);
       font: 16px/1.6 "Helvetica Neue", Arial, sans-serif; }
h1, h2, .name { font-family: Georgia, "Times New Roman", serif; font-weight: normal; }
a { color: inherit; text-underline-offset: 3px; }
header.site { display: flex; justify-content: space-between; align-items: baseline;
              padding: 1.5rem 2rem; border-bottom: 1px solid var(--line); }
header.site .name { font-size: 1.6rem; text-decoration: none; }
header.site nav a { margin-left: 1.5rem; text-decoration: none; color: var(--muted); }
header.site nav a[aria-current] { color: var(--ink); border-bottom: 1px solid var(--ink); }
main { max-width: 1200px; margin: 0 auto; padding: 2rem; }
.intro { text-align: center; margin: 2rem 0 3rem; }
.intro h1 { font-size: 2.6rem; margin: 0; }
.grid { display: grid; gap: 2rem; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); }
figure { margin: 0; }
figure img { width: 100%; height: 260px; object-fit: cover; display: block;
             box-shadow: 0 1px 4px rgba(0, 0, 0, .15); }
figcaption { margin-top: .6rem; font-family: Georgia, serif; }
figcaption span { color: var(--muted); font-size: .9em; margin-left: .4em; }
.more { text-align: center; margin-top: 3rem; }
nav.pages { display: flex; gap: 1rem; justify-content: center; margin: 3rem 0 1rem; }
nav.pages [aria-current] { font-weight: bold; }
.work { text-align: center; }
.work img { max-width: 100%; height: auto; box-shadow: 0 2px 10px rgba(0, 0, 0, .18); }
.work .details { color: var(--muted); }
.text { max-width: 40rem; margin: 0 auto; }
.text img { float: right; width: 45%; height: auto; margin: 0 0 1rem 1.5rem; }
footer.site { text-align: center; color: var(--muted); font-size: .85rem;
              padding: 2rem; border-top: 1px solid var(--line); }
"""


def site_url(artist: str) -> str:
    """The public base URL written into robots.txt and sitemap.xml (a reserved .example name)."""
    return f"https://{slugify(artist)}.example"


def build_site(root: Path, artist: str = "Mara Ilves") -> Path:
    """Write the complete demo site into root unless this version is already there.

    Returns root. The marker file is written last, so an interrupted build is redone.
    """
    root = Path(root)
    marker = root / MARKER
    stamp = f"fixative-demo-site {SITE_VERSION}\nartist: {artist}\n"
    if marker.is_file() and marker.read_text(encoding="utf-8") == stamp:
        return root
    log.info("building demo site for %s into %s", artist, root)
    works = list_works()
    _write_images(root, works)
    _write_pages(root, artist, works)
    _write(root, "style.css", STYLE_CSS)
    _write(root, "robots.txt", robots_txt(site_url(artist)))
    _write(root, "sitemap.xml", sitemap_xml(site_url(artist), works))
    _write(root, "downloads/press-kit.zip", press_kit_zip(artist))
    _write(root, "favicon.ico", favicon_ico())
    _write(root, MARKER, stamp)
    return root


def _write(root: Path, rel: str, data: str | bytes) -> None:
    """Write data to root/rel, creating parent directories."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)


def _write_images(root: Path, works: list[Work]) -> None:
    """Render and write every full-size image and thumbnail."""
    for work in works:
        full, thumb = render_files(work.index)
        _write(root, work.full_url.lstrip("/"), full)
        _write(root, work.thumb_url.lstrip("/"), thumb)


def _write_pages(root: Path, artist: str, works: list[Work]) -> None:
    """Write the home, gallery, work, about, contact, private and 404 pages."""
    _write(root, "index.html", pages.home(artist, [works[i] for i in FEATURED]))
    chunks = gallery_pages(works)
    for number, chunk in enumerate(chunks, start=1):
        _write(root, gallery_url(number).lstrip("/"),
               pages.gallery(artist, chunk, number, len(chunks)))
    for i, work in enumerate(works):
        prev = works[i - 1] if i > 0 else None
        next_ = works[i + 1] if i + 1 < len(works) else None
        _write(root, work.page_url.lstrip("/"), pages.work_page(artist, work, prev, next_))
    _write(root, "about.html", pages.about(artist, works[2]))
    _write(root, "contact.html", pages.contact(artist, f"studio@{slugify(artist)}.example"))
    _write(root, "private/index.html", pages.private(artist))
    _write(root, "404.html", pages.not_found(artist))


def robots_txt(base: str) -> str:
    """The origin's own robots.txt; a proxy in front is expected to merge its rules in."""
    return (
        "# robots.txt of the origin site\n"
        "User-agent: *\n"
        "Disallow: /private/\n"
        "\n"
        f"Sitemap: {base}/sitemap.xml\n"
    )


def sitemap_xml(base: str, works: list[Work]) -> str:
    """A sitemap of every page, with the image-sitemap extension for work pages."""
    entries = [f"  <url><loc>{xml_escape(base)}{path}</loc></url>" for path in
               ["/", "/about.html", "/contact.html"]
               + [gallery_url(n) for n in range(1, len(gallery_pages(works)) + 1)]]
    for work in works:
        entries.append(
            f"  <url><loc>{xml_escape(base + work.page_url)}</loc>"
            f"<image:image><image:loc>{xml_escape(base + work.full_url)}</image:loc>"
            f"</image:image></url>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"\n'
        '        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">\n'
        + "\n".join(entries)
        + "\n</urlset>\n"
    )


def press_kit_zip(artist: str) -> bytes:
    """A real ZIP of about 2 MB, mostly incompressible, for streaming tests."""
    rng = random.Random("fixative-demo-press-kit")
    files: list[tuple[str, bytes, int]] = [
        ("README.txt", f"Press kit of {artist}.\nImages © {artist}.\n".encode(),
         zipfile.ZIP_DEFLATED),
        ("biography.txt", f"{artist} is a painter working in oil, gouache and watercolour.\n"
         .encode(), zipfile.ZIP_DEFLATED),
        # Random bytes stand in for scans: they do not compress, so the size stays ~2 MB.
        ("scans/scans.dat", rng.randbytes(PRESS_KIT_RANDOM_BYTES), zipfile.ZIP_STORED),
    ]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data, method in files:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = method
            archive.writestr(info, data)
    return out.getvalue()


def favicon_ico() -> bytes:
    """A small sun-over-hill icon in ICO format at 16, 32 and 48 pixels."""
    img = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((0, 0, 63, 63), radius=12, fill=(250, 240, 222, 255))
    draw.ellipse((30, 10, 52, 32), fill=(226, 140, 70, 255))
    draw.polygon([(0, 44), (22, 30), (40, 40), (63, 34), (63, 63), (0, 63)],
                 fill=(70, 90, 80, 255))
    out = io.BytesIO()
    img.save(out, "ICO", sizes=[(16, 16), (32, 32), (48, 48)])
    return out.getvalue()
