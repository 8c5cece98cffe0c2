"""Keep feed fetching away from addresses a feed URL must never reach (SSRF protection).

A feed URL comes from an admin command, and every redirect hop comes from the feed's server, so
neither is trusted: a URL such as ``http://169.254.169.254/`` (cloud metadata) or a name that
resolves to ``10.0.0.5`` would otherwise let anyone who can add a feed read internal services.

Two checks cover every way in: IP literals in a URL are checked before any connection (aiohttp
never asks a resolver about them), and names are checked by :class:`GuardedResolver` at connect
time, so the connection goes to exactly the address that was vetted (no DNS-rebinding gap
between a check and a second lookup).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

if TYPE_CHECKING:
    from collections.abc import Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = frozenset({"http", "https"})
MAX_URL_LENGTH = 2048
"""The ``feeds.url`` column's size."""

# Shared address space for carrier-grade NAT; Python's is_global already excludes it, listed so
# the intent survives a change of the stdlib's tables.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


ALLOW_HINT = (
    "; to allow feeds there, the operator sets SHIFTBRIEF_ALLOW_PRIVATE_ADDRESSES=true"
    " (or lists the network in SHIFTBRIEF_ALLOWED_PRIVATE_NETWORKS)"
)
"""Appended to every refusal of a non-public address: the setting that would allow it."""


class UnsafeURLError(Exception):
    """A URL is not allowed as a feed address; the message says why in plain words."""


class AddressSettings(Protocol):
    """The settings an address policy reads (``bot.config.Settings`` has them)."""

    @property
    def allow_private_addresses(self) -> bool: ...
    @property
    def allowed_private_networks(self) -> Sequence[str]: ...


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which addresses feed fetching may connect to.

    Attributes:
        allow_private: reach every address (for development and tests on loopback).
        allowed_networks: CIDR blocks reachable even when private addresses are refused.
    """

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, settings: AddressSettings) -> AddressPolicy:
        """The policy configured by ``allow_private_addresses``/``allowed_private_networks``."""
        return cls.build(
            allow_private=settings.allow_private_addresses,
            allowed_networks=settings.allowed_private_networks,
        )

    @classmethod
    def build(
        cls, *, allow_private: bool = False, allowed_networks: Iterable[str] = ()
    ) -> AddressPolicy:
        """A policy from CIDR strings such as ``"127.0.0.1/32"``."""
        nets = tuple(ipaddress.ip_network(n, strict=False) for n in allowed_networks)
        return cls(allow_private=allow_private, allowed_networks=nets)

    def refusal(self, address: str) -> str | None:
        """Why ``address`` (an IP literal) must not be reached, or None when it may be."""
        try:
            ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return f"{address} is not an IP address"
        if self.allow_private:
            return None
        # ::ffff:10.0.0.1 reaches 10.0.0.1, and so can the translation prefixes (NAT64
        # 64:ff9b::/96, 6to4 2002::/16, Teredo): judge the IPv4 address they carry.
        if isinstance(ip, ipaddress.IPv6Address):
            ip = _embedded_ipv4(ip) or ip
        if any(ip in net for net in self.allowed_networks):
            return None
        kind = _address_kind(ip)
        if kind is None:
            return None
        article = "an" if kind[0] in "aeiou" else "a"
        return f"{address} is {article} {kind} address"

    def check_url_host(self, url: URL) -> None:
        """Refuse a URL whose host is a non-public IP literal (names are checked at connect).

        Raises:
            UnsafeURLError: the host is an IP address this policy refuses.
        """
        host = url.host
        if host is None:
            raise UnsafeURLError(f"refused: {url} has no host")
        if _is_ip_literal(host):
            reason = self.refusal(host)
            if reason is not None:
                raise UnsafeURLError(f"refused: {reason}{ALLOW_HINT}")


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def _literal_address(host: str) -> str | None:
    """The address a host stands for without any lookup, or None for a name to resolve.

    Besides plain IP literals, that is ``localhost`` and its subdomains (RFC 6761 reserves
    them for loopback) and the legacy IPv4 spellings resolvers still accept (``0x7f000001``,
    ``2130706433``, ``127.1``), so a feed added with one is refused when it is added, not
    left failing at every fetch.
    """
    bare = host.strip("[]").split("%", 1)[0].rstrip(".").lower()
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    if bare == "localhost" or bare.endswith(".localhost"):
        return "127.0.0.1"
    if all(part and part[0].isdigit() for part in bare.split(".")):
        try:
            return socket.inet_ntoa(socket.inet_aton(bare))  # numeric forms only
        except OSError:
            return None
    return None


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def _address_kind(ip: IPAddress) -> str | None:
    """A user-facing word for a non-public address, or None for a public one."""
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified:
        return "unspecified"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "shared (carrier-grade NAT)"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "non-public"
    return None


def validate_feed_url(url: str, policy: AddressPolicy | None = None) -> str:
    """Check a feed URL before it is stored: http(s), a host, no credentials, and, given the
    address policy, no non-public IP literal (host names are checked when they resolve).

    Returns:
        The URL, stripped of surrounding whitespace and of any fragment.

    Raises:
        UnsafeURLError: the URL cannot be a feed address; the message says why.
    """
    text = url.strip()
    if not text:
        raise UnsafeURLError("the feed URL is empty")
    if len(text) > MAX_URL_LENGTH:
        raise UnsafeURLError(f"the feed URL is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 for ch in text):
        raise UnsafeURLError("the feed URL contains spaces or control characters")
    try:
        parsed = URL(text)
    except ValueError as exc:
        raise UnsafeURLError(f"the feed URL is not a valid URL ({exc})") from None
    scheme = parsed.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = scheme or "none"
        raise UnsafeURLError(f"only http and https feed URLs are supported (scheme: {shown})")
    if not parsed.host:
        raise UnsafeURLError("the feed URL has no host name")
    if parsed.user is not None or parsed.password is not None:
        raise UnsafeURLError("the feed URL must not contain a user name or password")
    try:
        parsed.port  # noqa: B018 - yarl raises here for a port out of range
    except ValueError:
        raise UnsafeURLError("the feed URL has an invalid port") from None
    if policy is not None:
        policy.check_url_host(parsed)
        # Names are otherwise judged when they resolve, at every fetch; these never need to.
        address = _literal_address(parsed.host)
        reason = policy.refusal(address) if address is not None else None
        if reason is not None:
            raise UnsafeURLError(
                f"refused: {parsed.host} is {reason.split(' is ', 1)[-1]}{ALLOW_HINT}"
            )
    return str(parsed.with_fragment(None))


class GuardedResolver(AbstractResolver):
    """Resolves names with aiohttp's default resolver and drops every refused address.

    The connector connects to what this returns, so a name cannot be checked against one answer
    and then connected to another.
    """

    def __init__(self, *, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner: AbstractResolver = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve ``host`` and keep only the addresses the policy allows.

        Raises:
            UnsafeURLError: every address the name resolves to is refused.
        """
        results = await self._inner.resolve(host, port, family)
        allowed: list[ResolveResult] = []
        reasons: list[str] = []
        for result in results:
            reason = self._policy.refusal(result["host"])
            if reason is None:
                allowed.append(result)
            else:
                reasons.append(reason)
        if not allowed:
            detail = reasons[0] if reasons else "it resolves to no address"
            raise UnsafeURLError(
                f"refused: {host} resolves to a non-public address ({detail}){ALLOW_HINT}"
            )
        return allowed

    async def close(self) -> None:
        """Release the wrapped resolver."""
        await self._inner.close()
