"""Chain: all of Fixative's addons behind one entry in mitmproxy's addon chain.

mitmproxy hands every event to every addon it holds, twice (the event, then `update`), and that
costs a few microseconds an addon even when the addon has no hook for the event. Added one by one,
Fixative's fifteen addons made mitmproxy's dispatch alone about a fifth of the proxy's CPU for a
person's page (bench/README.md). Here each event goes only to the addons with a hook for it, in
their order; an awaitable a hook returns is awaited before the next addon runs, as mitmproxy does.
One addon's exception is logged ("Addon error", as mitmproxy words it) and the others still run.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any

import mitmproxy.addonmanager
import mitmproxy.proxy.layers
import mitmproxy.proxy.server_hooks
from mitmproxy import exceptions, hooks

log = logging.getLogger(__name__)

# Imported for what importing them does: they register their hooks (load, http, tls, ...) in hooks.all_hooks.
HOOK_MODULES = (mitmproxy.addonmanager, mitmproxy.proxy.layers, mitmproxy.proxy.server_hooks)

# mitmproxy's own control flow: an invalid option must still reach the user who set it.
PASSED_ON = (exceptions.AddonHalt, exceptions.OptionsError)
Handler = tuple[Any, Callable[..., Any]]


class Chain:
    name = "fixative"

    def __init__(self, addons: Sequence[Any]):
        # not `addons`: mitmproxy would find that attribute and send each event to them itself as well
        self.members = tuple(addons)
        for event in hooks.all_hooks:
            handlers = [(addon, getattr(addon, event)) for addon in self.members
                        if callable(getattr(addon, event, None))]
            if handlers:  # no attribute at all for events nobody handles: mitmproxy skips us cheaply
                setattr(self, event, _dispatcher(event, tuple(handlers)))

    def find(self, kind: type) -> Any:
        """The addon of that class in the chain, or None."""
        return next((a for a in self.members if isinstance(a, kind)), None)


def _dispatcher(event: str, handlers: tuple[Handler, ...]) -> Callable[..., Any]:
    def dispatch(*args: Any) -> Any:
        for i, (addon, handler) in enumerate(handlers):
            try:
                result = handler(*args)
            except PASSED_ON:
                raise
            except Exception as e:  # noqa: BLE001  one member's bug must not stop the others
                _failed(event, addon, e)
                continue
            if result is not None and inspect.isawaitable(result):
                return _finish(event, handlers[i:], result, args)
        return None
    dispatch.__name__ = event
    return dispatch


async def _finish(event: str, handlers: tuple[Handler, ...], pending: Any, args: tuple[Any, ...]) -> None:
    """The rest of an event once a hook has gone async: each awaited in turn."""
    addon = handlers[0][0]
    try:
        await pending
    except PASSED_ON:
        raise
    except Exception as e:  # noqa: BLE001
        _failed(event, addon, e)
    for addon, handler in handlers[1:]:
        try:
            result = handler(*args)
            if result is not None and inspect.isawaitable(result):
                await result
        except PASSED_ON:
            raise
        except Exception as e:  # noqa: BLE001
            _failed(event, addon, e)


def _failed(event: str, addon: Any, error: Exception) -> None:
    log.error("Addon error: %s.%s: %s", type(addon).__name__, event, error, exc_info=error)
