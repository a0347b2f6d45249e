"""Who is posting: the client address as the configured trusted proxy reports it, and a limit per address.

`X-Forwarded-For` is a list anyone can prepend to, so it is read only when the connection comes from a
configured trusted proxy, and then from the right: the first address that is not itself a trusted proxy is
the client (what the outermost trusted proxy saw).  Without trusted proxies the peer address is the client.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from webhooks.intake_ratelimit import Decision, SlidingLogLimiter

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


class ClientAddress:
    def __init__(self, trusted_proxies: Sequence[str]) -> None:
        self._trusted: list[IPNetwork] = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]

    def _is_trusted(self, text: str) -> bool:
        address = _address(text)
        return address is not None and any(address in network for network in self._trusted)

    def of(self, peer: str | None, forwarded_for: str | None) -> str:
        peer = peer or "unknown"
        if not forwarded_for or not self._is_trusted(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self._is_trusted(hop):
                address = _address(hop)
                return str(address) if address is not None else "unknown"
        return peer


class PerClientLimiter:
    """One exact sliding log per client address, the least recently seen forgotten past `max_clients` (so a
    flood of addresses costs bounded memory; a forgotten client simply starts a fresh window)."""

    def __init__(self, rate: str, clock: Callable[[], float] = time.monotonic, *, max_clients: int = 10_000) -> None:
        self._rate = rate
        self._clock = clock
        self._max = max_clients
        self._limiters: OrderedDict[str, SlidingLogLimiter] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, client: str) -> Decision:
        with self._lock:
            limiter = self._limiters.get(client)
            if limiter is None:
                limiter = SlidingLogLimiter.parse(self._rate, self._clock)
                self._limiters[client] = limiter
                if len(self._limiters) > self._max:
                    self._limiters.popitem(last=False)
            else:
                self._limiters.move_to_end(client)
        return limiter.hit()
