"""Outgoing WebSub requests, safely: which callbacks the hub may contact, and a small HTTP client.

The hub sends requests to URLs strangers give it, so every request goes through two guards:

- :func:`check_callback` resolves the callback's host and refuses it unless *every* address it
  resolves to is public (not loopback, private, link-local, shared, multicast, reserved or
  unspecified), or allowed by the settings (``websub_allow_private``, or a host name or CIDR in
  ``websub_allow``). It runs when a subscription is requested *and* right before each request.
- :func:`send` connects to exactly the addresses that were checked (the host is not looked up
  again, so DNS rebinding between check and connect cannot redirect it), with a timeout on the
  connection and on the whole answer, never follows redirects and reads at most
  ``WEBSUB_MAX_ANSWER_BYTES`` (:mod:`wirefeed.config.defaults`) of the answer. TLS still verifies the
  certificate for the host name.

Only the standard library is used (``http.client``, ``socket``, ``ssl``).
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from wirefeed.config import defaults
from wirefeed.errors import CallbackRefused, CallbackUnresolvable, ConfigError

USER_AGENT = "wirefeed-websub-hub"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$"
)


@dataclass(frozen=True, slots=True)
class Policy:
    """Which callback hosts and addresses are allowed beyond public ones."""

    allow_private: bool = False
    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, allow_private: bool, allow: Sequence[str]) -> Policy:
        """Parse ``websub_allow`` entries: an address or CIDR, else an exact host name."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in allow:
            item = entry.strip().lower()
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            if not _HOSTNAME.match(item):
                raise ConfigError(
                    f"WIREFEED_WEBSUB_ALLOW: {entry!r} is neither an address, a CIDR nor a host"
                )
            hosts.add(item.rstrip("."))
        return cls(allow_private, frozenset(hosts), tuple(networks))

    def address_allowed(self, addr: IPAddress) -> bool:
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        if any(addr in net for net in self.networks):
            return True
        if addr.is_multicast or addr.is_unspecified:
            return False
        if addr.is_global:
            return True
        # loopback, private (RFC 1918, ULA), link-local, shared (100.64/10), reserved, documentation
        return self.allow_private and not addr.is_reserved


@dataclass(frozen=True, slots=True)
class Target:
    """A checked callback: where to connect and what to ask for."""

    url: str
    scheme: str
    host: str
    """Host name (IDNA-encoded) or address, as sent in ``Host`` and used for TLS."""
    port: int
    path: str
    """Path and query string, as sent on the request line."""
    addresses: tuple[str, ...]
    """The checked addresses, in resolver order; connections go to these only."""


Resolver = Callable[[str, int], Sequence[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (TCP), in resolver order, without duplicates."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise CallbackUnresolvable(f"callback host {host!r} does not resolve: {exc}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_callback(url: str, policy: Policy, resolver: Resolver = resolve) -> Target:
    """Check a callback URL and resolve its host; raise :class:`CallbackRefused` or
    :class:`CallbackUnresolvable`, else return where to send requests."""
    if len(url) > 2048:
        raise CallbackRefused("callback URL longer than 2048 characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise CallbackRefused(f"callback is not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise CallbackRefused("callback must be an http or https URL")
    if parts.username is not None or parts.password is not None:
        raise CallbackRefused("callback must not contain user name or password")
    if any(c in url for c in "\r\n\t ") or not parts.hostname:
        raise CallbackRefused("callback must be an absolute URL with a host and no spaces")
    host = parts.hostname.rstrip(".")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise CallbackRefused(f"callback host {parts.hostname!r} is not a valid host name") from None
    port = port or (443 if scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    addresses = list(resolver(host, port))
    if not addresses:
        raise CallbackUnresolvable(f"callback host {host!r} has no address")
    if host.lower() not in policy.hosts:
        for raw in addresses:
            addr = ipaddress.ip_address(raw.split("%", 1)[0])
            if not policy.address_allowed(addr):
                raise CallbackRefused(
                    f"callback host {host!r} resolves to {addr}, which is not a public address "
                    "(see WIREFEED_WEBSUB_ALLOW / WIREFEED_WEBSUB_ALLOW_PRIVATE)"
                )
    return Target(url, scheme, host, port, path, tuple(addresses))


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    """At most ``WEBSUB_MAX_ANSWER_BYTES`` of the answer's body."""


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def send(
    target: Target,
    method: str,
    *,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    path: str | None = None,
) -> Answer:
    """One request to a checked target: no redirects, ``timeout`` to connect and again to answer.

    Tries the checked addresses in order until one accepts the connection. Raises ``OSError``
    (including timeouts) or ``http.client.HTTPException`` when no answer could be had.
    """
    last: OSError | None = None
    for address in target.addresses:
        cls = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
        conn = cls(target.host, target.port, address, timeout)
        try:
            try:
                conn.connect()
            except OSError as exc:
                last = exc
                continue
            return _exchange(
                conn, method, path or target.path, headers=headers or {}, body=body, timeout=timeout
            )
        finally:
            conn.close()
    raise last or OSError(f"could not connect to {target.host}")


def _exchange(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    *,
    headers: Mapping[str, str],
    body: bytes | None,
    timeout: float,
) -> Answer:
    deadline = time.monotonic() + timeout
    conn.request(
        method, path, body=body, headers={"User-Agent": USER_AGENT, "Connection": "close", **headers}
    )
    resp = conn.getresponse()
    chunks: list[bytes] = []
    size = 0
    while size < defaults.WEBSUB_MAX_ANSWER_BYTES:
        if time.monotonic() > deadline:
            raise TimeoutError(f"answer from {conn.host} took longer than {timeout} s")
        chunk = resp.read1(defaults.WEBSUB_MAX_ANSWER_BYTES - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return Answer(resp.status, b"".join(chunks))
