"""A tiny authoritative DNS server on loopback for tests: real UDP, answers built with dnspython's message API.

It answers PTR and A/AAAA questions from a table, NXDOMAIN for names it does not know, and can be told
to stay silent (a server that is down or too slow) for chosen names. It counts the questions it gets.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.reversename
import dns.rrset


class LoopbackDns:
    """`records`: {(name, 'PTR'|'A'|'AAAA'): [values]}; names without the final dot."""

    def __init__(self, records: dict[tuple[str, str], list[str]], silent: set[str] | None = None,
                 host: str = "127.0.0.1"):
        self.records = {(n.lower().rstrip("."), t.upper()): v for (n, t), v in records.items()}
        self.silent = {n.lower().rstrip(".") for n in (silent or set())}
        self.questions: Counter[tuple[str, str]] = Counter()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.2)
        self.address = f"{host}:{self.sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = self._answer(data)
            if reply is not None:
                self.sock.sendto(reply, peer)

    def _answer(self, data: bytes) -> bytes | None:
        query = dns.message.from_wire(data)
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.questions[(name, rdtype)] += 1
        if name in self.silent:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        values = self.records.get((name, rdtype))
        if values:
            rrset = dns.rrset.from_text_list(question.name, 60, dns.rdataclass.IN, question.rdtype,
                                             [v if rdtype != "PTR" else v.rstrip(".") + "." for v in values])
            response.answer.append(rrset)
        elif not any(n == name for n, _ in self.records):
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()

    def asked(self, name: str) -> int:
        """How many questions (any type) came for this name."""
        key = name.lower().rstrip(".")
        return sum(count for (n, _), count in self.questions.items() if n == key)

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        self._thread.join(2)


def ptr_name(ip: str) -> str:
    """The in-addr.arpa / ip6.arpa name a PTR question for `ip` asks about."""
    return dns.reversename.from_address(ip).to_text().rstrip(".")
