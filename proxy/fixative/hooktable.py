"""HookTable: mitmproxy's addon manager, with each event's handlers looked up once, not every time.

mitmproxy's AddonManager finds an event's handlers anew on every event: for each of its ~36 default
addons a generator walk, a getattr and a context manager, and twice a hook (the event, then `update`).
That costs about 0.65 ms of CPU a request, a quarter to a third of what the proxy spends on one
(bench/README.md: bare mitmdump 1.8 ms a page, 2.6 ms an image).
Here the handlers of each event are listed once and reused until an addon is added or removed, which
is what Chain (addons/chain.py) does for Fixative's own addons. What mitmproxy promises is kept: the
chain's order, an awaitable a handler returns is awaited before the next, AddonHalt ends the event,
OptionsError reaches the caller, any other error is logged as "Addon error" and the next addon runs.
An addon with children (an `addons` attribute, as mitmproxy's script loader has, whose scripts come
and go) is still walked on every event by mitmproxy's own code. One difference: an addon added while
an event is being handed out gets the next event, not that one.

Written against mitmproxy 11.0.2 (pinned in pyproject.toml); tests/test_hooktable.py checks it does
what mitmproxy's manager does, so an upgrade that changes the manager shows up there.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable
from typing import Any

from mitmproxy import addonmanager, exceptions, hooks

# (addon, its handler) for a leaf addon; (addon, None) for one mitmproxy must walk itself.
Entry = tuple[Any, Callable[..., Any] | None]


class HookTable(addonmanager.AddonManager):
    _listed_chain: object = None  # the chain (list) the table was made for
    _listed_length = 0
    _table: dict[str, tuple[Entry, ...]]

    @classmethod
    def install(cls, manager: addonmanager.AddonManager) -> None:
        """Make a master's addon manager a HookTable, in place: options and signals stay connected to it."""
        if type(manager) is not addonmanager.AddonManager:
            raise TypeError(f"expected mitmproxy's AddonManager, got {type(manager).__name__}")
        manager.__class__ = cls

    async def trigger_event(self, event: hooks.Hook) -> None:
        args = event.args()
        for addon, handler in self._handlers(event.name):
            try:
                if handler is None:
                    await self.invoke_addon(addon, event)
                    continue
                result = handler(*args)
                if result is not None and inspect.isawaitable(result):
                    await result
            except exceptions.AddonHalt:
                return
            except exceptions.OptionsError:
                raise
            except Exception as e:  # noqa: BLE001  one addon's bug must not stop the others (as mitmproxy)
                tb = addonmanager.cut_traceback(e.__traceback__, "trigger_event")
                addonmanager.logger.error(f"Addon error: {e}", exc_info=(type(e), e, tb))

    def _handlers(self, name: str) -> tuple[Entry, ...]:
        chain, length = self.chain, len(self.chain)
        if chain is not self._listed_chain or length != self._listed_length:
            # add() appends to the list, remove() and clear() replace it: either way, list again
            self._listed_chain, self._listed_length, self._table = chain, length, {}
        found = self._table.get(name)
        if found is None:
            found = self._table[name] = tuple(entries(chain, name))
        return found


def entries(chain: list[Any], name: str) -> list[Entry]:
    """The addons of `chain` that take event `name`, in order, as mitmproxy's _iter_hooks would find them."""
    found: list[Entry] = []
    for addon in chain:
        if hasattr(addon, "addons"):
            found.append((addon, None))
            continue
        handler = getattr(addon, name, None)
        if not handler or isinstance(handler, types.ModuleType):
            continue  # mitmproxy skips a module that happens to share a hook's name ("from mitmproxy import log")
        # not callable: mitmproxy's own walk raises AddonManagerError, logged as an addon error on every event
        found.append((addon, handler if callable(handler) else None))
    return found
