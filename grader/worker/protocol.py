"""Framing for the judge <-> worker channel: a JSON header plus an optional
safetensors blob.  Nothing is ever pickled."""

from __future__ import annotations

import json
import socket
import struct

_HEAD = struct.Struct("!II")
MAX_JSON = 64 * 1024 * 1024
MAX_BLOB = 512 * 1024 * 1024


class ChannelClosed(Exception):
    """The other side went away."""


class ProtocolError(Exception):
    """The other side sent something that is not a valid frame."""


def send(sock: socket.socket, header: dict, blob: bytes = b"") -> None:
    data = json.dumps(header, allow_nan=True).encode()
    sock.sendall(_HEAD.pack(len(data), len(blob)) + data + blob)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise ChannelClosed("channel closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def recv(sock: socket.socket) -> tuple[dict, bytes]:
    n_json, n_blob = _HEAD.unpack(_recv_exact(sock, _HEAD.size))
    if n_json > MAX_JSON or n_blob > MAX_BLOB:
        raise ProtocolError(f"frame too large ({n_json} + {n_blob} bytes)")
    header = json.loads(_recv_exact(sock, n_json))
    if not isinstance(header, dict):
        raise ProtocolError("frame header is not an object")
    blob = _recv_exact(sock, n_blob) if n_blob else b""
    return header, blob
