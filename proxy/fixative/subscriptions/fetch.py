"""Download a pack or its signature over http(s), with a timeout and a size cap.

Conditional requests (If-None-Match / If-Modified-Since) spare a transfer when the
upstream supports them. Proxy settings from the environment are not used.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

MAX_PACK_BYTES = 5 << 20
MAX_SIGNATURE_BYTES = 4096
TIMEOUT_SECONDS = 30.0


class FetchError(ValueError):
    """The URL did not give a usable answer; the message says what happened."""


@dataclass(frozen=True)
class Fetched:
    body: bytes | None  # None: not modified since the ETag / Last-Modified given
    etag: str | None = None
    last_modified: str | None = None


async def fetch(session: aiohttp.ClientSession, url: str, *, limit: int = MAX_PACK_BYTES,
                etag: str | None = None, last_modified: str | None = None,
                timeout: float = TIMEOUT_SECONDS) -> Fetched:
    """GET `url`; FetchError for anything but a 200 (or a 304 when asked conditionally) within limits."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    elif last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        async with session.get(url, headers=headers, max_redirects=3,
                               timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            if response.status == 304 and headers:
                return Fetched(None, etag, last_modified)
            if response.status != 200:
                raise FetchError(f"{url}: HTTP {response.status} {response.reason or ''}".rstrip())
            if response.content_length is not None and response.content_length > limit:
                raise FetchError(f"{url}: {response.content_length} bytes, more than the {limit} allowed")
            body = bytearray()
            async for chunk in response.content.iter_chunked(1 << 16):
                body += chunk
                if len(body) > limit:
                    raise FetchError(f"{url}: more than the {limit} bytes allowed")
            return Fetched(bytes(body), response.headers.get("ETag"), response.headers.get("Last-Modified"))
    except aiohttp.TooManyRedirects as e:
        raise FetchError(f"{url}: too many redirects") from e
    except aiohttp.ClientError as e:
        raise FetchError(f"{url}: {str(e) or type(e).__name__}") from e
    except TimeoutError as e:
        raise FetchError(f"{url}: no complete answer within {timeout:g} s") from e
