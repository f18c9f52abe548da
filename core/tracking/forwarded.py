"""A click's address behind a load balancer: the connection comes from the balancer,
and the phone's address is in the X-Forwarded-For the balancer appends to. The header is
believed only from the balancers the installation names (TRACKLY_TRUSTED_PROXIES):
anyone can send one. Read from the right, as each proxy appends the address it saw: the
first address that is not a trusted proxy is the client."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from multidict import istr

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDED_FOR = istr("X-Forwarded-For")


class ClientAddress:
    def __init__(self, trusted: Iterable[Network] = ()) -> None:
        self._trusted = tuple(trusted)
        self._known: dict[str, bool] = {}  # address -> trusted (few distinct peers)

    def __bool__(self) -> bool:
        return bool(self._trusted)

    def _is_trusted(self, address: str) -> bool:
        trusted = self._known.get(address)
        if trusted is None:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                return False
            trusted = any(ip in net for net in self._trusted)
            if len(self._known) >= 1000:
                self._known.clear()
            self._known[address] = trusted
        return trusted

    def of(self, peer: str, forwarded_for: str | None) -> str:
        """The client's address: the peer's own unless the peer is a trusted proxy
        that says whom it forwards."""
        if not forwarded_for or not self._is_trusted(peer):
            return peer
        address = peer
        for hop in reversed(forwarded_for.split(",")):
            hop = hop.strip()
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                return address  # garbage: the last hop a trusted proxy vouched for
            address = hop
            if not self._is_trusted(hop):
                return hop
        return address
