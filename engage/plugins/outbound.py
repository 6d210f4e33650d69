"""Outbound HTTP for plugins, guarded against SSRF.

Operators and plugins configure URLs (webhooks, provider base URLs); a URL
that reaches the server's own network (loopback, private ranges, link-local
cloud metadata...) would turn engage into a proxy into it. So every address
is checked *when connecting*, after DNS resolution: a hostname that resolves
to a refused address is refused however it is spelled (``2130706433``,
``0x7f.1``, ``[::ffff:127.0.0.1]``) and DNS rebinding between a check and the
connection is impossible. Redirects are never followed and proxies from the
environment are ignored, so the checked address is the one connected to.

``ENGAGE_OUTBOUND_ALLOWED_NETWORKS`` (CIDR list) lets chosen networks through,
e.g. a provider fake on loopback in tests or an internal relay.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings

DEFAULT_TIMEOUT_SECONDS = 10.0


class BlockedAddress(httpx.TransportError):
    """The URL resolves to an address engage refuses to connect to."""


def _allowed_networks():
    return [
        ipaddress.ip_network(net, strict=False)
        for net in getattr(settings, "ENGAGE_OUTBOUND_ALLOWED_NETWORKS", [])
    ]


def refusal_reason(ip: str) -> str | None:
    """Why engage will not connect to ``ip``, or None when it may."""
    address = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            address = mapped
    if any(address in net for net in _allowed_networks()):
        return None
    for label, flag in (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("non-global", not address.is_global),
    ):
        if flag:
            return f"{address} is a {label} address (not in ENGAGE_OUTBOUND_ALLOWED_NETWORKS)"
    return None


def literal_address_refusal(url: str) -> str | None:
    """For settings validation: the refusal reason when ``url``'s host is a
    literal IP address that would be refused. Hostnames are checked at connect time."""
    host = urlsplit(url).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return refusal_reason(host)


class _GuardedBackend(httpcore.SyncBackend):
    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        for _family, _type, _proto, _name, sockaddr in infos:
            reason = refusal_reason(sockaddr[0])
            if reason:
                raise BlockedAddress(f"refused to connect to {host}: {reason}")
        # Connect to the address just checked, never re-resolve the name.
        sockaddr = infos[0][4]
        return super().connect_tcp(sockaddr[0], sockaddr[1], timeout, local_address, socket_options)


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self):
        super().__init__(trust_env=False)
        # httpx exposes no network backend option; the pool is rebuilt with
        # the same TLS context and the guarded backend.
        self._pool = httpcore.ConnectionPool(
            ssl_context=self._pool._ssl_context,
            network_backend=_GuardedBackend(),
        )


def guarded_client(*, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> httpx.Client:
    """An httpx client that refuses disallowed addresses and never follows redirects."""
    return httpx.Client(
        transport=_GuardedTransport(),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )
