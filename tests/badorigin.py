"""A misbehaving origin for failure tests: asyncio, in a daemon thread, on loopback.

The path picks the misbehaviour:
  /ok...            a normal small 200 (text/html)
  /slow             answers a normal 200 after 1 s
  /trickle          sends a 5-part body, one part a second (quiet for less than 2 s at a time)
  /stall-headers    reads the request, never answers
  /stall-body...    sends headers and a tenth of the body, then nothing (Content-Type from the suffix)
  /reset            resets the connection (SO_LINGER 0) without answering
  /close            closes the connection without answering
  /garbage          answers with bytes that are not HTTP
Stalled connections are held until the proxy gives up on them; `held` counts those still open.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading

TYPES = {".jpg": "image/jpeg", ".png": "image/png", ".html": "text/html", ".txt": "text/plain"}


class BadOrigin:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.held = 0
        self.requests = 0
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self.loop).result(10)
        self.port = self.server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                path = head.split(b" ", 2)[1].decode("latin-1")
                if not await self._answer(path, reader, writer):
                    return
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            if not writer.is_closing():
                writer.close()

    async def _answer(self, path: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection is finished."""
        if path.startswith("/slow"):
            await asyncio.sleep(1)
            path = "/ok"
        if path.startswith("/trickle"):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5000\r\n\r\n")
            for _ in range(5):
                await asyncio.sleep(1)
                writer.write(b"t" * 1000)
                await writer.drain()
            return True
        if path.startswith("/ok"):
            body = b"<!doctype html><title>ok</title><p>fine"
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(body), body))
            await writer.drain()
            return True
        if path.startswith("/stall-headers"):
            await self._hold(reader)
        elif path.startswith("/stall-body"):
            ctype = TYPES.get(path[path.rfind("."):], "application/octet-stream")
            writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: 100000\r\n\r\n".encode()
                         + b"\xff\xd8\xff\xe0" + b"x" * 9996)
            await writer.drain()
            await self._hold(reader)
        elif path.startswith("/reset"):
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        elif path.startswith("/garbage"):
            writer.write(b"\x00\x01 this is not HTTP at all \xff\r\n\r\n")
            await writer.drain()
        return False

    async def _hold(self, reader: asyncio.StreamReader) -> None:
        """Say nothing until the proxy closes its side."""
        self.held += 1
        try:
            while await reader.read(4096):
                pass
        finally:
            self.held -= 1

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()
            self.server.close_clients() if hasattr(self.server, "close_clients") else None

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
