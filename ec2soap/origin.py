"""Where a request came from: the client's address, and the scheme and Host it used to reach us.

Every front door asks `request_origin(request)` (the WSDL address, S3 virtual-host buckets, the region endpoint,
aws:SourceIp / aws:SecureTransport, the access log); nothing else reads X-Forwarded-* or Forwarded.

Those headers are believed only when the TCP peer is one of the configured trusted proxies (`trusted_proxies`,
default none): anybody can send them, so from any other peer they are ignored and the connection itself
decides (its address, TLS or not, the Host header). Behind a chain of trusted proxies, the client is the
right-most X-Forwarded-For address that is not itself a trusted proxy.

The policy is found on the twisted.web Site (`site.origin_policy`, set by ec2soap.server); a Site without one
trusts no proxy. The answer is computed once per request and kept on it.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional, Union

__all__ = ["Origin", "ProxyPolicy", "request_origin", "base_url", "parse_networks", "valid_host", "NO_PROXIES",
           "access_log_line"]

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

# host, host:port, [v6], [v6]:port: what a Host (or X-Forwarded-Host) may hold to be used in a URL.
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$")
_FORWARDED_PAIR = re.compile(r'\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*)\s*')


def parse_networks(text: str) -> tuple[Network, ...]:
    """'10.0.0.1, 192.168.0.0/16, ::1' → networks (an address is a /32 or /128). ValueError names a bad entry."""
    networks = []
    for item in text.replace(";", ",").replace(" ", ",").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or network (CIDR)") from None
    return tuple(networks)


def _address(text: str) -> Optional[ipaddress._BaseAddress]:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    if "%" in text:  # a v6 zone id
        text = text.split("%", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def valid_host(host: str) -> bool:
    """True when HOST (host[:port]) may be put into a URL we write."""
    return bool(_HOST.match(host)) and len(host) <= 255


@dataclass(frozen=True)
class Origin:
    """The client's address, the scheme it used (http/https) and the host[:port] it asked for ('' unknown).
    `forwarded` is True when a trusted proxy's headers said so."""
    client: str
    scheme: str
    host: str
    forwarded: bool = False

    @property
    def secure(self) -> bool:
        return self.scheme == "https"


class ProxyPolicy:
    """The trusted proxies (networks). `resolve(peer, secure, header)` → the request's Origin, where HEADER(name)
    gives one request header (repeated ones joined with ',') or None."""

    def __init__(self, networks: Iterable[Network] = ()):
        self.networks = tuple(networks)

    @classmethod
    def from_setting(cls, text: str) -> "ProxyPolicy":
        return cls(parse_networks(text))

    def trusts(self, address: str) -> bool:
        found = _address(address)
        return found is not None and any(found in network for network in self.networks)

    def resolve(self, peer: str, secure: bool, header: Callable[[str], Optional[str]]) -> Origin:
        scheme = "https" if secure else "http"
        host = (header("host") or "").strip()
        direct = Origin(client=peer, scheme=scheme, host=host if valid_host(host) else "")
        if not self.networks or not self.trusts(peer):
            return direct
        hops, proto, fhost = _forwarded(header("forwarded"))
        if not hops:
            hops = [hop.strip() for hop in (header("x-forwarded-for") or "").split(",") if hop.strip()]
        proto = proto or _last(header("x-forwarded-proto"))
        fhost = fhost or _last(header("x-forwarded-host"))
        client = peer
        for hop in reversed(hops):  # right-most first: the hop our trusted proxy saw
            address = _address(hop)
            if address is None:
                break  # "unknown", an obfuscated name: the chain is not followed further
            client = str(address)
            if not self.trusts(client):
                break
        proto = (proto or "").lower()
        if proto in ("http", "https"):
            scheme = proto
        if fhost and valid_host(fhost):
            host = fhost
        else:
            host = direct.host
        return Origin(client=client, scheme=scheme, host=host, forwarded=True)


NO_PROXIES = ProxyPolicy()


def _last(value: Optional[str]) -> Optional[str]:
    """The last of a comma-separated list (the value the proxy nearest to us added)."""
    if not value:
        return None
    parts = [part.strip() for part in value.split(",") if part.strip()]
    return parts[-1] if parts else None


def _forwarded(value: Optional[str]) -> tuple[list[str], Optional[str], Optional[str]]:
    """RFC 7239 Forwarded: (for= of every element, proto= and host= of the last element that has them)."""
    hops: list[str] = []
    proto = host = None
    if not value:
        return hops, proto, host
    for element in value.split(","):
        pairs = {}
        for pair in element.split(";"):
            match = _FORWARDED_PAIR.fullmatch(pair)
            if match:
                name, raw = match.group(1).lower(), match.group(2)
                if raw.startswith('"'):
                    raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
                pairs[name] = raw
        if "for" in pairs:
            hops.append(pairs["for"])
        proto = pairs.get("proto", proto)
        host = pairs.get("host", host)
    return hops, proto, host


def _policy_of(request: Any) -> ProxyPolicy:
    site = getattr(request, "site", None)
    if site is None:
        channel = getattr(request, "channel", None)
        site = getattr(channel, "site", None)
    return getattr(site, "origin_policy", None) or NO_PROXIES


def request_origin(request: Any) -> Origin:
    """The Origin of a twisted.web REQUEST (computed once, then kept on the request)."""
    known = getattr(request, "_ec2soap_origin", None)
    if known is not None:
        return known
    peer = request.getClientAddress()
    address = getattr(peer, "host", "") or ""
    headers = request.requestHeaders

    def header(name: str) -> Optional[str]:
        # By bytes: Twisted decodes str lookups as UTF-8, and a client may send any bytes (latin-1 keeps
        # them; valid_host and the address parser then refuse what is not ASCII).
        values = headers.getRawHeaders(name.encode("ascii"))
        if not values:
            return None
        return ",".join(v.decode("latin-1") for v in values)

    found = _policy_of(request).resolve(address, bool(request.isSecure()), header)
    try:
        request._ec2soap_origin = found
    except AttributeError:
        pass
    return found


def base_url(request: Any, fallback_host: str = "") -> str:
    """scheme://host[:port] the client used to reach us: the origin's Host, else FALLBACK_HOST (public_host),
    else the address the connection came in on."""
    origin = request_origin(request)
    host = origin.host or fallback_host
    if not host:
        local = request.getHost()
        address = getattr(local, "host", "127.0.0.1")
        host = f"[{address}]:{local.port}" if ":" in address else f"{address}:{local.port}"
    return f"{origin.scheme}://{host}"


def access_log_line(timestamp: str, request: Any) -> str:
    """twisted.web's combined log format, with the client of request_origin (not the proxy's address)."""
    from twisted.web.http import combinedLogFormatter

    line = combinedLogFormatter(timestamp, request)
    origin = request_origin(request)
    peer = getattr(request.getClientAddress(), "host", "-") or "-"
    if origin.client and origin.client != peer and line.startswith('"'):
        # combinedLogFormatter starts with the quoted peer address: show the client instead, the proxy after.
        end = line.find('"', 1)
        if end > 0:
            safe = origin.client.replace('"', "")
            line = f'"{safe}"{line[end + 1:]} via="{peer}"'
    return line
