"""Outbound connections of plugins (HTTP and SMTP), guarded against SSRF.

Operators and plugins configure URLs and hosts (webhooks, provider base URLs,
mail servers); a destination that reaches the server's own network (loopback,
private ranges, link-local cloud metadata...) would turn engage into a proxy
into it. So every address is checked *when connecting*, after DNS
resolution: a hostname that resolves to a refused address is refused however
it is spelled (``2130706433``, ``0x7f.1``, ``[::ffff:127.0.0.1]``) and DNS
rebinding between a check and the connection is impossible. Redirects are
never followed and proxies from the environment are ignored, so the checked
address is the one connected to. Settings validation refuses what it can
know without DNS (literal addresses, ``localhost``) earlier, with the field.

``ENGAGE_OUTBOUND_ALLOWED_NETWORKS`` (CIDR list) lets chosen networks through,
e.g. a provider fake on loopback in tests or an internal relay.
"""

import ipaddress
import smtplib
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


def host_refusal(host: str) -> str | None:
    """For settings validation: the refusal reason when ``host`` is a literal IP
    address or a ``localhost`` name that would be refused. Other hostnames are
    checked at connect time, when their address is known."""
    host = host.strip().strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return refusal_reason("127.0.0.1")  # RFC 6761: always loopback
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return refusal_reason(host)


def literal_address_refusal(url: str) -> str | None:
    """``host_refusal`` of ``url``'s host."""
    return host_refusal(urlsplit(url).hostname or "")


def checked_address(host: str, port: int) -> tuple:
    """The socket address to connect to for ``host``: resolved once, and every
    address the name has must be allowed. Raises socket.gaierror when the name
    does not resolve, BlockedAddress when an address is refused."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for _family, _type, _proto, _name, sockaddr in infos:
        reason = refusal_reason(sockaddr[0])
        if reason:
            raise BlockedAddress(f"refused to connect to {host}: {reason}")
    return infos[0][4]


class _GuardedBackend(httpcore.SyncBackend):
    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            sockaddr = checked_address(host, port)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        # Connect to the address just checked, never re-resolve the name.
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


class GuardedSMTP(smtplib.SMTP):
    """``smtplib.SMTP`` that connects only to an allowed, checked address.

    The name stays the server's host, so STARTTLS still verifies the
    certificate against it; only the socket goes to the address just checked.
    """

    def _get_socket(self, host, port, timeout):
        sockaddr = checked_address(host, port)
        return socket.create_connection(sockaddr[:2], timeout, self.source_address)


def url_refusal(url: str) -> str | None:
    """Why a configured webhook URL is refused, or None.

    Only what is certain without DNS: a literal address that is refused, or a
    ``localhost`` name (RFC 6761). Settings are validated each time a channel
    is loaded, so a DNS answer must not make a stored configuration unusable;
    a name resolving to a refused address is refused when connecting instead,
    and the send fails cleanly.
    """
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return f"refused: {host} is a loopback name"
    reason = literal_address_refusal(url)
    return f"refused: {reason}" if reason else None
