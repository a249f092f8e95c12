"""TlsFingerprints: the JA4 of each client's TLS ClientHello, handed to the requests on that connection.

Only when mitmproxy terminates TLS (`fixative run --cert`). The fingerprint is computed once per
connection in `tls_clienthello`, kept by connection id (bounded, dropped on disconnect) and put in
`flow.metadata["fixative.tls"]`, where Classify reads it into Facts.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from mitmproxy import connection, http, tls

from ..ja4 import ParseError, TlsFingerprint, parse_client_hello

log = logging.getLogger(__name__)
MAX_CONNECTIONS = 50_000  # far more than mitmproxy holds open at once; only a bound against leaks


class TlsFingerprints:
    def __init__(self, limit: int = MAX_CONNECTIONS):
        self.limit = limit
        self.by_client: OrderedDict[str, TlsFingerprint] = OrderedDict()

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        try:
            hello = parse_client_hello(data.client_hello.raw_bytes(wrap_in_record=False))
        except (ParseError, NotImplementedError) as e:  # DTLS, or a hello we cannot read: no fingerprint
            log.debug("no TLS fingerprint for %s: %s", data.context.client.peername, e)
            return
        self.by_client[data.context.client.id] = TlsFingerprint.of(hello)
        while len(self.by_client) > self.limit:
            self.by_client.popitem(last=False)

    def client_disconnected(self, client: connection.Client) -> None:
        self.by_client.pop(client.id, None)

    def request(self, flow: http.HTTPFlow) -> None:  # not requestheaders: one mitmproxy hook fewer a request
        if flow.response or flow.error or not flow.live:
            return
        fingerprint = self.by_client.get(flow.client_conn.id)
        if fingerprint is not None:
            flow.metadata["fixative.tls"] = fingerprint
