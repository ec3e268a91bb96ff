"""Reaching a webhook receiver at the very address its URL was checked to resolve to.

The host is resolved once per delivery; the address is checked and the connection goes
to that address, while the Host header, TLS SNI and the certificate check keep the
URL's hostname. A name that resolves to a public address when checked and to
127.0.0.1 a moment later (DNS rebinding) therefore never reaches the second address.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from trace.i18n import _l

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """The URL may not receive deliveries; ``str()`` is the reason, for people."""


@dataclass(frozen=True)
class Target:
    """A receiver URL pinned to one checked address."""

    url: str  # the URL's scheme, port, path and query, with the host replaced by the address
    hostname: str  # ASCII (IDNA) hostname: Host header, SNI, certificate
    host_header: str
    address: str
    auth: tuple[str, str] | None


def refused_address(address: IPAddress) -> bool:
    """Whether ``address`` is anything but a public unicast one (IPv4-mapped IPv6 unwrapped)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or any(
        (
            address.is_loopback,
            address.is_link_local,
            address.is_private,
            address.is_multicast,
            address.is_reserved,
            address.is_unspecified,
        )
    )


def resolve(url: str, allow_private: bool) -> Target:
    """Resolve ``url``'s host once and pin it to the first address it gives.

    :param allow_private: accept loopback and private addresses (development, tests).
    :raises TargetRefused: not http(s), no host, the host does not resolve, or (unless
        ``allow_private``) any of its addresses is not public.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(_l("Give an http:// or https:// URL."))
    try:
        hostname = parts.hostname.encode("idna").decode("ascii")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    except (OSError, UnicodeError, ValueError):
        raise TargetRefused(_l("The URL's host cannot be resolved.")) from None
    if not addresses:
        raise TargetRefused(_l("The URL's host cannot be resolved."))
    if not allow_private and any(refused_address(a) for a in addresses):
        raise TargetRefused(_l("The URL points at a private or loopback address."))
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    host_header = f"[{hostname}]" if ":" in hostname else hostname
    if parts.port is not None:
        host_header, literal = f"{host_header}:{port}", f"{literal}:{port}"
    pinned = urlunsplit((parts.scheme, literal, parts.path or "/", parts.query, ""))
    auth = (parts.username, parts.password or "") if parts.username else None
    return Target(pinned, hostname, host_header, str(address), auth)


class PinnedAdapter(HTTPAdapter):
    """A transport that sends TLS SNI and checks the certificate for ``hostname``, not for
    the address in the request's URL."""

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **pool_kwargs: Any) -> None:
        pool_kwargs.update(server_hostname=self.hostname, assert_hostname=self.hostname)
        super().init_poolmanager(*args, **pool_kwargs)


def post(
    target: Target, body: bytes, headers: dict[str, str], timeout: float, verify: bool | str = True
) -> requests.Response:
    """POST ``body`` to the pinned address; never follows redirects, ignores proxies.

    :param verify: as requests' (True: the system's CA store; a path: that bundle).
    :raises requests.RequestException: the receiver could not be reached.
    """
    with requests.Session() as http:
        http.trust_env = False  # no proxy or .netrc from the environment reaches receivers
        adapter = PinnedAdapter(target.hostname)
        http.mount("http://", adapter)
        http.mount("https://", adapter)
        response = http.post(
            target.url,
            data=body,
            headers={**headers, "Host": target.host_header},
            auth=target.auth,
            timeout=timeout,
            allow_redirects=False,
            verify=verify,
        )
        response.close()
    return response
