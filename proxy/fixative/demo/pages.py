"""HTML pages of the demo portfolio, as strings. Pure functions of the catalogue and artist.

Every link is root-relative ("/gallery/1.html") so the site works unchanged behind a proxy.
"""

from __future__ import annotations

from html import escape

from .catalog import Work, gallery_url, page_of

DESCRIPTIONS = {
    "landscape": (
        "Open country at the turn of the light: the far ridges dissolve into the sky, "
        "while the field in front is built up in short upright strokes.",
        "A walk's worth of land, seen from a low rise. The hills recede in three layers "
        "of thinning colour, each a little closer to the sky.",
    ),
    "seascape": (
        "Open water under a moving sky. The path of reflected light is laid in with "
        "broken horizontal marks that catch the sun.",
        "Painted from the harbour wall in one sitting; the horizon sits near the middle so "
        "sky and water share the picture.",
    ),
    "still life": (
        "A table by the studio window, a vessel and a few fruit, lit from the left. "
        "The drape on the right is there to hold the warm colour.",
        "Ordinary things arranged and rearranged until the shadows agreed with each other.",
    ),
    "abstract": (
        "Fields and circles of colour set against each other to see which one advances. "
        "No subject beyond the weight of the shapes.",
        "Part of an ongoing series of small experiments in colour and interval.",
    ),
}

NAV = (("/", "Home"), (gallery_url(1), "Gallery"), ("/about.html", "About"),
       ("/contact.html", "Contact"))


def page(title: str, artist: str, body: str, current: str = "") -> str:
    """A complete HTML5 document with the site header, navigation and footer around body."""
    marks = {href: ' aria-current="page"' if href == current else "" for href, _ in NAV}
    links = "\n".join(f'      <a href="{href}"{marks[href]}>{label}</a>' for href, label in NAV)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{escape(title)} — {escape(artist)}</title>
  <link rel="stylesheet" href="/style.css">
  <link rel="icon" href="/favicon.ico">
</head>
<body>
  <header class="site">
    <a class="name" href="/">{escape(artist)}</a>
    <nav>
{links}
    </nav>
  </header>
  <main>
{body}
  </main>
  <footer class="site">
    <p>All works © {escape(artist)}. Not licensed for machine-learning training.</p>
  </footer>
</body>
</html>
"""


def thumb_figure(work: Work) -> str:
    """A gallery tile: the thumbnail linking to the work's page, with its caption."""
    return f"""    <figure>
      <a href="{work.page_url}"><img src="{work.thumb_url}" width="{work.thumb_width}" \
height="{work.thumb_height}" alt="{escape(work.title)}" loading="lazy"></a>
      <figcaption>{escape(work.title)} <span>{work.year}</span></figcaption>
    </figure>"""


def home(artist: str, featured: list[Work]) -> str:
    """The landing page: a short introduction and a row of featured works."""
    tiles = "\n".join(thumb_figure(w) for w in featured)
    body = f"""    <section class="intro">
      <h1>{escape(artist)}</h1>
      <p>Paintings, prints and watercolours of land, sea and the kitchen table.</p>
    </section>
    <section class="grid featured">
{tiles}
    </section>
    <p class="more"><a href="{gallery_url(1)}">See all works</a></p>"""
    return page("Paintings and prints", artist, body, current="/")


def gallery(artist: str, works: list[Work], number: int, total: int) -> str:
    """Gallery page `number` of `total`: a grid of thumbnails and pagination links."""
    tiles = "\n".join(thumb_figure(w) for w in works)
    body = f"""    <h1>Gallery</h1>
    <section class="grid">
{tiles}
    </section>
{pagination(number, total)}"""
    current = gallery_url(1) if number == 1 else ""
    return page(f"Gallery, page {number}", artist, body, current=current)


def pagination(number: int, total: int) -> str:
    """Previous / numbered / next links between gallery pages."""
    items = []
    if number > 1:
        items.append(f'<a rel="prev" href="{gallery_url(number - 1)}">← Previous</a>')
    for n in range(1, total + 1):
        if n == number:
            items.append(f'<span aria-current="page">{n}</span>')
        else:
            items.append(f'<a href="{gallery_url(n)}">{n}</a>')
    if number < total:
        items.append(f'<a rel="next" href="{gallery_url(number + 1)}">Next →</a>')
    return '    <nav class="pages">\n      ' + "\n      ".join(items) + "\n    </nav>"


def describe(work: Work) -> str:
    """A short deterministic description of a work, as an artist might write it."""
    options = DESCRIPTIONS[work.scene]
    return options[work.index // 4 % len(options)]


def work_page(artist: str, work: Work, prev: Work | None, next_: Work | None) -> str:
    """One work: the full-size image inline, its details, and links to its neighbours."""
    links = [f'<a href="{gallery_url(page_of(work))}">Back to gallery</a>']
    if prev:
        links.insert(0, f'<a rel="prev" href="{prev.page_url}">← {escape(prev.title)}</a>')
    if next_:
        links.append(f'<a rel="next" href="{next_.page_url}">{escape(next_.title)} →</a>')
    nav = "\n      ".join(links)
    body = f"""    <article class="work">
      <h1>{escape(work.title)}</h1>
      <img src="{work.full_url}" width="{work.width}" height="{work.height}" \
alt="{escape(work.title)}, {escape(work.medium)}">
      <p class="details">{escape(work.medium.capitalize())}, {work.year}. \
{work.width} × {work.height} px.</p>
      <p>{escape(describe(work))}</p>
      <p><a class="full" href="{work.full_url}">Open full size</a></p>
    </article>
    <nav class="pages">
      {nav}
    </nav>"""
    return page(work.title, artist, body)


def about(artist: str, portrait: Work) -> str:
    """A short biography page with one work as illustration."""
    body = f"""    <article class="text">
      <h1>About</h1>
      <img src="{portrait.thumb_url}" width="{portrait.thumb_width}" \
height="{portrait.thumb_height}" alt="{escape(portrait.title)}">
      <p>{escape(artist)} paints outdoors from spring to autumn and in the studio through
      the winter. Her work moves between oil on canvas, gouache and watercolour, and
      returns again and again to the same few hills, the harbour and the kitchen table.</p>
      <p>She has shown in small galleries around the Baltic and teaches evening classes
      in drawing. Originals and prints are available on request.</p>
    </article>"""
    return page("About", artist, body, current="/about.html")


def contact(artist: str, email: str) -> str:
    """Contact details and the press-kit download."""
    body = f"""    <article class="text">
      <h1>Contact</h1>
      <p>For commissions, prints and exhibitions, write to
      <a href="mailto:{escape(email)}">{escape(email)}</a>.</p>
      <p>Press and curators: the <a href="/downloads/press-kit.zip">press kit</a>
      (ZIP, about 2 MB) has a biography, a CV and high-resolution scans.</p>
    </article>"""
    return page("Contact", artist, body, current="/contact.html")


def private(artist: str) -> str:
    """Unlisted drafts page under /private/, which the origin's robots.txt disallows."""
    body = """    <article class="text">
      <h1>Works in progress</h1>
      <p>Unfinished pieces, not for publication.</p>
    </article>"""
    return page("Works in progress", artist, body)


def not_found(artist: str) -> str:
    """The page served with status 404."""
    body = f"""    <article class="text">
      <h1>Not found</h1>
      <p>There is nothing at this address. Try the <a href="{gallery_url(1)}">gallery</a>.</p>
    </article>"""
    return page("Not found", artist, body)
