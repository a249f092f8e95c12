"""The demo origin: a small aiohttp static server for a site built by `build_site`.

Serves files under root with explicit Content-Types, ETag and Last-Modified (from
aiohttp's FileResponse), "/" and directories as index.html, and an HTML 404 page.
Run it with `python -m fixative.demo.origin --root DIR --port N`.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".json": "application/json",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".avif": "image/avif",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".zip": "application/zip",
}
FALLBACK_TYPE = "application/octet-stream"
NOT_FOUND_PAGE = "404.html"
BUILTIN_404 = (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Not found</title>'
    "</head><body><h1>Not found</h1><p>There is nothing at this address.</p></body></html>\n"
)

ROOT = web.AppKey("root", Path)


def content_type(path: Path) -> str:
    """The Content-Type header for a file, by extension."""
    return CONTENT_TYPES.get(path.suffix.lower(), FALLBACK_TYPE)


def resolve(root: Path, url_path: str) -> Path | None:
    """The file under root that url_path names, or None if missing, hidden or outside root.

    Directories map to their index.html. `root` must already be resolved.
    """
    parts = [p for p in url_path.split("/") if p]
    # Dot-segments would escape root; dotfiles (like the build marker) are not content.
    if any(p.startswith(".") or "\\" in p or "\0" in p for p in parts):
        return None
    candidate = root.joinpath(*parts)
    if candidate.is_dir():
        candidate = candidate / "index.html"
    try:
        real = candidate.resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError, OSError):
        return None
    return real if real.is_file() and real.is_relative_to(root) else None


def not_found(root: Path) -> web.Response:
    """The site's own 404.html with status 404, or a minimal built-in page."""
    page = root / NOT_FOUND_PAGE
    body = page.read_text(encoding="utf-8") if page.is_file() else BUILTIN_404
    return web.Response(status=404, text=body, content_type="text/html", charset="utf-8")


async def handle(request: web.Request) -> web.StreamResponse:
    """GET/HEAD of any path: the file, a slash redirect for bare directories, or 404."""
    root = request.app[ROOT]
    url_path = request.match_info["path"]
    path = resolve(root, url_path)
    if path is None:
        return not_found(root)
    if path.name == "index.html" and url_path and not url_path.endswith(("/", "index.html")):
        # Like any static server: /private -> /private/ so relative links resolve.
        raise web.HTTPMovedPermanently(location=request.path + "/")
    return web.FileResponse(path, headers={"Content-Type": content_type(path)})


def make_app(root: Path) -> web.Application:
    """An aiohttp application serving the directory root."""
    app = web.Application()
    app[ROOT] = Path(root).resolve()
    app.router.add_get("/{path:.*}", handle)
    return app


async def start_origin(
    root: Path, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, int]:
    """Start serving root on host:port (0 picks a free port); returns the runner and the port.

    The caller stops the server with `await runner.cleanup()`.
    """
    runner = web.AppRunner(make_app(root))
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound = runner.addresses[0][1]
    return runner, int(bound)


async def _serve_forever(root: Path, host: str, port: int,
                         on_ready: Callable[[int], None] | None) -> None:
    """Serve until cancelled, then shut the server down cleanly."""
    runner, bound = await start_origin(root, host, port)
    try:
        if on_ready:
            on_ready(bound)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def serve(root: Path, host: str = "127.0.0.1", port: int = 8081,
          on_ready: Callable[[int], None] | None = None) -> None:
    """Serve root until interrupted; on_ready receives the bound port once listening."""
    try:
        asyncio.run(_serve_forever(root, host, port, on_ready))
    except KeyboardInterrupt:
        pass


def _parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Serve the Fixative demo portfolio.")
    parser.add_argument("--root", type=Path, default=Path("demo-site"),
                        help="site directory; built there if missing (default: ./demo-site)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081, help="port, 0 for any (default: 8081)")
    parser.add_argument("--artist", default="Mara Ilves", help="artist name shown on the site")
    return parser.parse_args(argv)


if __name__ == "__main__":
    from .site import build_site

    args = _parse_args()
    build_site(args.root, args.artist)

    def _announce(bound: int) -> None:
        print(f"origin listening on http://{args.host}:{bound}", flush=True)

    serve(args.root, args.host, args.port, on_ready=_announce)
