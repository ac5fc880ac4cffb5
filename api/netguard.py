"""Where webhooks may go: no loopback, link-local, cloud metadata, multicast, unspecified or private
addresses (SSRF), checked on the resolved addresses at registration and again at every send.

Private and other non-global networks (and, for development, loopback or link-local ones) can be opened
with the ``webhook_allow_cidrs`` setting; the metadata endpoints, multicast and unspecified addresses
never can. Host names are resolved with a replaceable resolver (tests stub it); IPv4 literals in the
forms ``inet_aton`` accepts (``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1``) are parsed the way
the system resolver would read them, so they cannot slip past the check.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: host, port → the addresses it resolves to (strings); raises OSError when it does not resolve
Resolver = Callable[[str, int], list[str]]

#: cloud metadata endpoints (AWS/GCP/Azure/OpenStack IPv4, AWS IPv6); never reachable, allow-list or not
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2",
                                                                  "fd00:ec2::254", "100.100.100.200"))


class AddressNotAllowed(ValueError):
    """The URL's host is, or resolves to, an address webhooks may not reach; the message says why."""


def system_resolver(host: str, port: int) -> list[str]:
    """All addresses of ``host`` from the system resolver (``getaddrinfo``)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


def _inet_aton_part(part: str) -> int:
    if part.lower().startswith("0x"):
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)
    return int(part, 10)


def parse_ipv4_loose(host: str) -> ipaddress.IPv4Address | None:
    """An IPv4 address written the way ``inet_aton`` reads it (1–4 parts, decimal, 0x-hex or 0-octal), or
    None when ``host`` is not such a literal."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or any(not p for p in parts):
        return None
    try:
        nums = [_inet_aton_part(p) for p in parts]
    except ValueError:
        return None
    *head, last = nums
    if any(not 0 <= n <= 255 for n in head) or last < 0 or last >= 256 ** (4 - len(head)):
        return None
    value = 0
    for n in head:
        value = value * 256 + n
    return ipaddress.IPv4Address(value * 256 ** (4 - len(head)) + last)


def literal_address(host: str) -> IPAddress | None:
    """The address when ``host`` is an IP literal (IPv6 without brackets, or any IPv4 form), else None."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return parse_ipv4_loose(host)


def _unwrap(addr: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped, IPv4-compatible, NAT64 or 6to4 IPv6 address, else ``addr``."""
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return addr.ipv4_mapped
        if addr.sixtofour is not None:
            return addr.sixtofour
        packed = int(addr)
        if packed >> 32 == 0 and packed > 1:  # ::a.b.c.d (deprecated IPv4-compatible)
            return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
        if addr in ipaddress.ip_network("64:ff9b::/96"):  # NAT64 well-known prefix
            return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    return addr


def refusal(addr: IPAddress, allow: Sequence[IPNetwork] = ()) -> str | None:
    """Why ``addr`` may not be reached (a short phrase), or None when it may."""
    inner = _unwrap(addr)
    for a in (inner, addr):  # the embedded IPv4 address names the reason
        if a in METADATA_ADDRESSES:
            return "a cloud metadata address"
        if a.is_unspecified:
            return "an unspecified address"
        if a.is_multicast:
            return "a multicast address"
    if any(inner in net or addr in net for net in allow):
        return None
    for a in (inner, addr):  # the embedded IPv4 address names the reason
        if a.is_loopback:
            return "a loopback address"
        if a.is_link_local:
            return "a link-local address"
        if a.is_private:
            return "a private address"
        if not a.is_global:
            return "a reserved or non-public address"
    return None


def allow_networks(cidrs: Sequence[str]) -> list[IPNetwork]:
    return [ipaddress.ip_network(c, strict=False) for c in cidrs]


@dataclass(frozen=True)
class Destination:
    """A checked webhook URL: where to connect (``address``) and what to send as Host/SNI."""

    url: SplitResult
    host: str
    port: int
    address: IPAddress

    def pinned_url(self) -> str:
        """The URL with the checked address in place of the host name (no second DNS lookup)."""
        ip = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        netloc = f"{ip}:{self.port}"
        path = self.url.path or "/"
        return f"{self.url.scheme}://{netloc}{path}" + (f"?{self.url.query}" if self.url.query else "")

    def host_header(self) -> str:
        default = {"http": 80, "https": 443}[self.url.scheme]
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def check_url(url: str, allow: Sequence[IPNetwork] = (), resolver: Resolver | None = None) -> Destination:
    """Parse, resolve and check a webhook URL; raises :class:`AddressNotAllowed` (or ValueError for a
    malformed URL). Every address the host resolves to must be allowed (no mixed answers)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("expected an http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError("expected a URL without user:password@")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError("expected a URL with a host")
    port = port or (443 if parts.scheme == "https" else 80)
    literal = literal_address(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            found = (resolver or system_resolver)(host, port)
        except (OSError, UnicodeError) as exc:
            raise AddressNotAllowed(f"host {host!r} does not resolve") from exc
        addresses = []
        for a in found:
            parsed = literal_address(a)
            if parsed is None:
                raise AddressNotAllowed(f"host {host!r} resolves to something that is not an address")
            addresses.append(parsed)
        if not addresses:
            raise AddressNotAllowed(f"host {host!r} does not resolve")
    for addr in addresses:
        why = refusal(addr, allow)
        if why is not None:
            where = f"{host}" if literal is not None else f"host {host!r} resolves to {addr}, which"
            raise AddressNotAllowed(f"{where} is {why}")
    return Destination(url=parts, host=host, port=port, address=addresses[0])
