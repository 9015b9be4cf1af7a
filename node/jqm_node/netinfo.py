"""Finds the node's own IPv4 address the way upstream does when none is given."""

from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct

_SIOCGIFFLAGS = 0x8913
_SIOCGIFADDR = 0x8915
_IFF_UP = 0x1
_IFF_LOOPBACK = 0x8
_IFF_POINTOPOINT = 0x10
_SKIPPED_PREFIXES = ("docker", "veth", "br-")


def detect_ipv4() -> str:
    """The first IPv4 of the first interface that is up, not loopback, not point-to-point and not a
    container bridge or veth; else the address the host name resolves to; else 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _, name in socket.if_nameindex():
            if name.startswith(_SKIPPED_PREFIXES):
                continue
            packed_name = struct.pack("256s", name.encode()[:15])
            try:
                flags = struct.unpack("H", fcntl.ioctl(sock.fileno(), _SIOCGIFFLAGS, packed_name)[16:18])[0]
                if not flags & _IFF_UP or flags & (_IFF_LOOPBACK | _IFF_POINTOPOINT):
                    continue
                address = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, packed_name)[20:24]
            except OSError:  # no IPv4 address on this interface
                continue
            return socket.inet_ntoa(address)
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def validate_ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ValueError(f"not an IPv4 address: {value!r}") from None
