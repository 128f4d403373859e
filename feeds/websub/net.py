"""Outgoing WebSub requests, safely: which callbacks the hub may contact, and a small HTTP client.

The hub sends requests to URLs strangers give it, so every request goes through two guards:

- :func:`check_callback` resolves the callback's host and refuses it unless *every* address it
  resolves to is public (not loopback, private, link-local, shared, multicast, reserved or
  unspecified, also when written as an IPv6 form that reaches IPv4: mapped, compatible, NAT64,
  6to4, Teredo), or allowed by the settings (``websub_allow_private``, or a host name or CIDR in
  ``websub_allow``). It runs in the websub worker right before each request. The web request
  only runs :func:`precheck_callback` (the URL, and a host written as an address): no DNS.
- :func:`send` connects to exactly the addresses that were checked (the host is not looked up
  again, so DNS rebinding between check and connect cannot redirect it), with a timeout on the
  connection and on the whole answer, never follows redirects and reads at most
  ``WEBSUB_MAX_ANSWER_BYTES`` (:mod:`wirefeed.config.defaults`) of the answer. TLS still verifies the
  certificate for the host name.

The exchange itself (request bytes, answers parsed by llhttp) is :mod:`.wire`, shared with the
deliveries' keep-alive pool (:mod:`.pool`).
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from wirefeed.errors import CallbackRefused, CallbackUnresolvable, ConfigError
from wirefeed.feeds.websub import wire

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
        if any(addr in net for net in self.networks):
            return True
        if isinstance(addr, ipaddress.IPv6Address):
            if addr in _NAT64_LOCAL:
                return False  # RFC 8215: the IPv4 address sits where the local prefix says
            inner = embedded_ipv4(addr)
            if inner:
                return all(self.address_allowed(a) for a in inner)
            if addr.is_site_local:
                return self.allow_private  # fec0::/10, deprecated, yet "global" to Python 3.11
        if addr.is_multicast or addr.is_unspecified:
            return False
        if addr.is_global:
            return True
        # loopback, private (RFC 1918, ULA), link-local, shared (100.64/10), reserved, documentation
        return self.allow_private and not addr.is_reserved


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_COMPATIBLE = ipaddress.IPv6Network("::/96")
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")


def embedded_ipv4(addr: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address reaches through a transition mechanism: IPv4-mapped
    (``::ffff:a.b.c.d``), IPv4-compatible (``::a.b.c.d``), IPv4-translated (``::ffff:0:a.b.c.d``),
    NAT64 (``64:ff9b::a.b.c.d``), 6to4
    (``2002:AABB:CCDD::``) and Teredo (``2001::/32``: its server and client). Python 3.11's
    ``is_global`` judges such an address as IPv6 (``64:ff9b::a9fe:a9fe`` is "global" although it
    is 169.254.169.254), so the hub judges the IPv4 address inside."""
    if addr.ipv4_mapped is not None:
        return [addr.ipv4_mapped]
    if addr in _NAT64 or addr in _TRANSLATED or (addr in _COMPATIBLE and int(addr) > 1):  # not ::, ::1
        return [ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)]
    if addr.sixtofour is not None:
        return [addr.sixtofour]
    if addr.teredo is not None:
        return list(addr.teredo)
    return []


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


def _parse(url: str) -> tuple[str, str, int, str]:
    """Scheme, host (IDNA-encoded, or an address), port and path of a callback; raise
    :class:`CallbackRefused` if it is not an acceptable URL. Resolves nothing."""
    if len(url) > 2048:
        raise CallbackRefused("callback URL longer than 2048 characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise CallbackRefused(f"callback is not a valid URL: {exc}") from None
    scheme, host, port, bad_name = _authority(parts.scheme, parts.netloc)
    if any(c in url for c in "\r\n\t "):
        raise CallbackRefused("callback must be an absolute URL with a host and no spaces")
    if bad_name:
        raise CallbackRefused(bad_name)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port, path


@functools.lru_cache(maxsize=1024)
def _authority(raw_scheme: str, netloc: str) -> tuple[str, str, int, str]:
    """What :func:`_parse` checks of a URL's scheme and authority, once per (scheme, authority)
    (a delivery job's callbacks share a few): scheme, host, port, and why the host name is not
    valid (``""`` if it is), or raise :class:`CallbackRefused`."""
    parts = urlsplit(f"http://{netloc}/")  # (the authority alone: whatever the scheme)
    try:
        port = parts.port
    except ValueError as exc:
        raise CallbackRefused(f"callback is not a valid URL: {exc}") from None
    scheme = raw_scheme.lower()
    if scheme not in ("http", "https"):
        raise CallbackRefused("callback must be an http or https URL")
    if parts.username is not None or parts.password is not None:
        raise CallbackRefused("callback must not contain user name or password")
    if not parts.hostname:
        raise CallbackRefused("callback must be an absolute URL with a host and no spaces")
    host = parts.hostname.rstrip(".")
    bad_name = ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            bad_name = f"callback host {parts.hostname!r} is not a valid host name"
    return scheme, host, port or (443 if scheme == "https" else 80), bad_name


def _literal(host: str) -> IPAddress | None:
    """The address a host names without any lookup: an IPv6 or IPv4 address, also in the old
    IPv4 forms the resolver takes (``2130706433``, ``127.1``, ``0x7f.1``), and ``localhost``
    (RFC 6761: always loopback)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return ipaddress.IPv4Address("127.0.0.1")
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def _refuse_unless_allowed(host: str, addr: IPAddress, policy: Policy) -> None:
    if host.lower() not in policy.hosts and not policy.address_allowed(addr):
        raise CallbackRefused(
            f"callback host {host!r} resolves to {addr}, which is not a public address "
            "(see WIREFEED_WEBSUB_ALLOW / WIREFEED_WEBSUB_ALLOW_PRIVATE)"
        )


def callback_host(url: str) -> str:
    """The host a callback URL names, lower-case and IDNA-encoded (``""`` if it names none)."""
    try:
        return _parse(url)[1].lower()
    except CallbackRefused:
        return ""


def precheck_callback(url: str, policy: Policy) -> None:
    """What can be checked of a callback without a DNS lookup (the web request does this; the
    websub worker resolves and checks again with :func:`check_callback`): the URL, and the
    address when the host is written as one. Raise :class:`CallbackRefused`."""
    _, host, _, _ = _parse(url)
    addr = _literal(host)
    if addr is not None:
        _refuse_unless_allowed(host, addr, policy)


def check_callback(
    url: str,
    policy: Policy,
    resolver: Resolver = resolve,
    checked: dict[tuple[str, int], tuple[str, ...]] | None = None,
) -> Target:
    """Check a callback URL and resolve its host; raise :class:`CallbackRefused` or
    :class:`CallbackUnresolvable`, else return where to send requests. ``checked`` (host and
    port -> addresses found allowed) saves checking a host again (a delivery job's batch)."""
    scheme, host, port, path = _parse(url)
    known = None if checked is None else checked.get((host, port))
    if known is None:
        addresses = list(resolver(host, port))
        if not addresses:
            raise CallbackUnresolvable(f"callback host {host!r} has no address")
        for raw in addresses:
            _refuse_unless_allowed(host, ipaddress.ip_address(raw.split("%", 1)[0]), policy)
        known = tuple(addresses)
        if checked is not None:
            checked[(host, port)] = known
    return Target(url, scheme, host, port, path, known)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    """At most ``WEBSUB_MAX_ANSWER_BYTES`` of the answer's body."""


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
    (including timeouts) or :class:`~wirefeed.errors.AnswerInvalid` when no answer could be had.
    The exchange is the deliveries' own (:mod:`.wire`), on a connection of its own.
    """
    last: OSError | None = None
    fields = {"User-Agent": USER_AGENT, "Connection": "close", **(headers or {})}
    host = wire.host_field(target.host, target.port, target.scheme)
    request = wire.request_bytes(method, path or target.path, host, fields, body or b"")
    for address in target.addresses:
        try:
            conn = wire.connect(target.scheme, target.host, target.port, address, timeout)
        except OSError as exc:
            last = exc
            continue
        try:
            status, answer, _ = wire.exchange(conn, request, timeout)
            return Answer(status, answer)
        finally:
            conn.close()
    raise last or OSError(f"could not connect to {target.host}")
