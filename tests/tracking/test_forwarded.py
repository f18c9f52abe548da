"""Which address a click came from behind load balancers (core.tracking.forwarded)."""

from __future__ import annotations

import pytest

from core.settings import proxy_networks
from core.tracking.forwarded import ClientAddress

BALANCERS = ClientAddress(proxy_networks("10.0.0.0/8, 35.191.0.0/16, ::1"))


@pytest.mark.parametrize(("peer", "forwarded", "client"), [
    ("10.1.2.3", "198.51.100.7", "198.51.100.7"),
    # what the phone wrote itself is to the left of what the balancers vouch for
    ("10.1.2.3", "6.6.6.6, 198.51.100.7, 35.191.3.4", "198.51.100.7"),
    ("10.1.2.3", "10.9.9.9, 35.191.3.4", "10.9.9.9"),  # all balancers: the first
    ("10.1.2.3", "garbage, 35.191.3.4", "35.191.3.4"),
    ("10.1.2.3", "", "10.1.2.3"),
    ("::1", "2001:db8::5", "2001:db8::5"),
    ("203.0.113.9", "198.51.100.7", "203.0.113.9"),  # not a balancer: its header is no one's
])
def test_the_client_is_the_first_address_no_trusted_balancer_added(peer, forwarded, client):
    assert BALANCERS.of(peer, forwarded) == client


def test_a_bad_entry_is_named():
    with pytest.raises(ValueError, match="'nonsense' is not an address or network"):
        proxy_networks("10.0.0.0/8, nonsense")
    assert not ClientAddress(proxy_networks(" , "))
