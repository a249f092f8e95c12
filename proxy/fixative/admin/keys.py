"""Typed keys for what the admin app stores, shared by app.py and the handlers."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp import web

from .state import AdminState

STATE = web.AppKey("state", AdminState)
CLIENT = web.AppKey("client", aiohttp.ClientSession)
STREAMS: web.AppKey[set[asyncio.Task[Any]]] = web.AppKey("streams", set)
