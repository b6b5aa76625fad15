"""Where a webhook may point: http(s) URLs whose addresses are public, unless the operator
allows private ones (AFTERSALE_WEBHOOK_ALLOW_PRIVATE=1, e.g. for a local receiver)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from aftersale.domain.errors import ValidationFailed


def parse_url(url: object) -> tuple[str, str, int]:
    """(url, host, port) of an http or https URL, else a validation error."""
    if not isinstance(url, str) or not 1 <= len(url.strip()) <= 2000:
        raise ValidationFailed("url must be an http or https URL", field="url")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed("url must be an http or https URL", field="url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ValidationFailed("url has an invalid port", field="url") from exc
    return url.strip(), parts.hostname, port


def refused_address(addresses: list[str]) -> str | None:
    """The first address that is not a public one (loopback, private, link-local ...)."""
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            return address
    return None


def addresses_of(host: str, port: int) -> list[str]:
    """The host's addresses (a literal address is itself; an unknown name has none)."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


def check_url(url: object, *, allow_private: bool) -> str:
    """The URL, if a webhook may point at it now (422 validation_error if not)."""
    clean, host, port = parse_url(url)
    if not allow_private:
        bad = refused_address(addresses_of(host, port))
        if bad is not None:
            raise ValidationFailed(
                f"url resolves to {bad}, a loopback, private or link-local address "
                "(AFTERSALE_WEBHOOK_ALLOW_PRIVATE=1 allows it)",
                field="url",
            )
    return clean
