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
from urllib3.exceptions import NewConnectionError

from trace.i18n import _l

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """The URL may not receive deliveries; ``str()`` is the reason, for people."""


#: How many of a host's checked addresses a delivery tries, in the resolver's order, when
#: the connection to the one before cannot be made (a dual-stack host without a route).
MAX_ADDRESSES = 3


@dataclass(frozen=True)
class Target:
    """A receiver URL pinned to the addresses checked for it."""

    #: The URL once per address: its scheme, port, path and query, with the host replaced
    #: by the address.
    urls: tuple[str, ...]
    hostname: str  # ASCII (IDNA) hostname: Host header, SNI, certificate
    host_header: str
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
    """Resolve ``url``'s host once and pin the request to the addresses checked
    (:data:`MAX_ADDRESSES` at most, in the resolver's order).

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
    host_header = f"[{hostname}]" if ":" in hostname else hostname
    if parts.port is not None:
        host_header = f"{host_header}:{port}"
    urls = tuple(
        urlunsplit((parts.scheme, _netloc(address, parts.port), parts.path or "/", parts.query, ""))
        for address in dict.fromkeys(addresses)
    )[:MAX_ADDRESSES]
    auth = (parts.username, parts.password or "") if parts.username else None
    return Target(urls, hostname, host_header, auth)


def _netloc(address: IPAddress, port: int | None) -> str:
    literal = f"[{address}]" if address.version == 6 else str(address)
    return literal if port is None else f"{literal}:{port}"


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
    """POST ``body`` to the first of the pinned addresses that takes a connection; never
    follows redirects, ignores proxies.

    :param verify: as requests' (True: the system's CA store; a path: that bundle).
    :raises requests.RequestException: the receiver could not be reached (the last
        address's error).
    """
    with requests.Session() as http:
        http.trust_env = False  # no proxy or .netrc from the environment reaches receivers
        adapter = PinnedAdapter(target.hostname)
        http.mount("http://", adapter)
        http.mount("https://", adapter)
        for url in target.urls[:-1]:
            try:
                return _post(http, url, target, body, headers, timeout, verify)
            except requests.ConnectionError as error:
                if not _not_connected(error):
                    raise  # the request may have reached the receiver: the outbox retries
        return _post(http, target.urls[-1], target, body, headers, timeout, verify)


def _post(
    http: requests.Session,
    url: str,
    target: Target,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    verify: bool | str,
) -> requests.Response:
    response = http.post(
        url,
        data=body,
        headers={**headers, "Host": target.host_header},
        auth=target.auth,
        timeout=timeout,
        allow_redirects=False,
        verify=verify,
    )
    response.close()
    return response


def _not_connected(error: requests.ConnectionError) -> bool:
    """Whether no connection was made at all (nothing was sent to this address)."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, NewConnectionError)
