"""Who the client is: the peer's address, or what X-Forwarded-For says when the peer is a
trusted proxy (AFTERSALE_TRUSTED_PROXIES). The rate limits count on it."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network

from starlette.types import Scope

Networks = Iterable[IPv4Network | IPv6Network]


def _trusted(address: str, networks: Networks) -> bool:
    """Whether an address is one of the trusted proxies."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(scope: Scope, networks: Networks) -> str:
    """The client's address: from the right of X-Forwarded-For, the first hop that is not a
    trusted proxy, when the peer itself is trusted; else the peer's own address."""
    networks = tuple(networks)
    client = scope.get("client")
    peer = str(client[0]) if client else "?"
    if not networks or not _trusted(peer, networks):
        return peer
    forwarded = [
        value.decode("latin-1")
        for name, value in scope.get("headers", [])
        if name == b"x-forwarded-for"
    ]
    hops = [h.strip() for h in ",".join(forwarded).split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop[:64]
    return hops[0][:64] if hops else peer
