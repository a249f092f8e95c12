"""mitmdump script for the benchmark's like-for-like baseline: bare mitmproxy with the hook table
`fixative run` installs (proxy/fixative/hooktable.py) and nothing else of Fixative. Against it, the
benchmark shows what Fixative's own addons cost, apart from what the hook table saves.

    mitmdump --mode reverse:URL -s bench/hooktable_only.py
"""

from fixative.hooktable import HookTable
from mitmproxy import ctx


def load(loader) -> None:  # type: ignore[no-untyped-def]
    HookTable.install(ctx.master.addons)
