"""The mitmproxy addons, composed in one ordered list.

Settings owns options and the Runtime; the others share it by reference and
talk to each other only through flow.metadata["fixative.*"]. mitmproxy holds them as one
Chain (chain.py), which hands each event only to the addons with a hook for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .admin import Admin
from .chain import Chain
from .classify import Classify
from .optout import OptOut
from .origin import OriginTimeout
from .pages import Pages
from .rdns import ReverseDns
from .record import Record
from .reload import Reload
from .route import Route
from .settings import Settings
from .sharing import Sharing
from .subscriptions import Subscriptions
from .tls import TlsFingerprints
from .treat import Treat


def make_addons(settings: Settings | None = None, extra: Sequence[Any] = ()) -> list[Any]:
    """What to give mitmproxy: Fixative's addons in their order, then `extra`, as one chain."""
    settings = settings or Settings()
    return [Chain([settings, Route(settings), TlsFingerprints(), ReverseDns(settings), Sharing(settings), Classify(settings), Treat(settings), Pages(settings),
            OptOut(settings), Record(settings), Admin(settings), Reload(settings), Subscriptions(settings),
            OriginTimeout(settings), *extra])]
