"""Fixative as a mitmproxy script:

    mitmdump -s proxy/fixative/mitm_addon.py --mode reverse:http://127.0.0.1:8000 \
        --set fixative_config=fixative.yaml
"""

import sys
from pathlib import Path

if __package__ in (None, ""):  # loaded by path with -s: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fixative.addons import make_addons  # noqa: E402

addons = make_addons()
