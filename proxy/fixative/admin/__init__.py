"""The artist's control plane: an aiohttp backend (JSON API, dashboard, /metrics) inside mitmproxy's loop."""
