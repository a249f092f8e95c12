"""Rule-pack subscriptions: packs fetched by URL, verified (pinned sha256 or Ed25519 signature),
validated with the ordinary loader, and cached in STATE_DIR/subscriptions/ as the last good copy.

spec.py parses the config, verify.py checks bytes, cache.py keeps the last good copies,
fetch.py downloads; the addon (addons/subscriptions.py) refreshes them in the background.
"""
