"""The kernel's audit records, read live from the audit netlink socket, for tests.

    with AuditSocket() as audit:            # open it before starting the app
        ... run something that seccomp refuses ...
        rec = audit.wait_seccomp(pid=1234, syscall=103)

The socket is NETLINK_AUDIT (protocol 9) bound to the read-only multicast group 1
(AUDIT_NLGRP_READLOG): every record the kernel emits reaches it, losslessly, with
no auditd running and without disturbing one that runs (it is not the audit
daemon's unicast channel). Records are parsed into their key=value fields.
Needs root (CAP_AUDIT_READ).
"""
from __future__ import annotations

import select
import socket
import struct
import time

NETLINK_AUDIT = 9
AUDIT_NLGRP_READLOG = 1
AUDIT_SECCOMP = 1326
AUDIT_LANDLOCK_ACCESS = 1423


def parse_fields(text: str) -> dict[str, str]:
    """key=value pairs of an audit record's text; quoted values unquoted, hex-encoded
    strings (the kernel's form for values with spaces) decoded."""
    fields: dict[str, str] = {}
    head, _, rest = text.partition("): ")
    if head.startswith("audit("):
        fields["stamp"] = head[len("audit("):]
    for word in rest.split():
        key, sep, value = word.partition("=")
        if not sep:
            continue
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        elif key in ("comm", "exe", "name", "path", "proctitle") and value and \
                all(c in "0123456789ABCDEF" for c in value) and len(value) % 2 == 0:
            try:
                value = bytes.fromhex(value).decode("utf-8", "replace")
            except ValueError:
                pass
        fields[key] = value
    return fields


class AuditSocket:
    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_AUDIT)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            self.sock.bind((0, AUDIT_NLGRP_READLOG))
        except OSError:
            self.sock.close()
            raise
        self.seen: list[tuple[int, dict[str, str]]] = []      # (type, fields), in arrival order

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "AuditSocket":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.sock], [], [], max(timeout, 0))
        if not ready:
            return False
        data = self.sock.recv(1 << 16)
        off = 0
        while off + 16 <= len(data):
            length, kind = struct.unpack_from("=IH", data, off)
            # multicast records carry their full length; guard against a short one
            end = len(data) if length < 16 or off + length > len(data) else off + length
            text = data[off + 16:end].rstrip(b"\0").decode("utf-8", "replace")
            self.seen.append((kind, parse_fields(text)))
            off = (end + 3) & ~3
        return True

    def wait(self, kind: int, timeout: float = 3.0, **want) -> dict[str, str] | None:
        """The first record of `kind` (seen so far, or arriving within `timeout`
        seconds) whose fields equal every `want` (values compared as text)."""
        want = {k: str(v) for k, v in want.items()}
        deadline = time.monotonic() + timeout
        checked = 0
        while True:
            for kind_, fields in self.seen[checked:]:
                if kind_ == kind and all(fields.get(k) == v for k, v in want.items()):
                    return fields
            checked = len(self.seen)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._read(left)

    def wait_seccomp(self, timeout: float = 3.0, **want) -> dict[str, str] | None:
        return self.wait(AUDIT_SECCOMP, timeout, **want)

    def records(self, kind: int | None = None, **want) -> list[dict[str, str]]:
        """Every record seen so far (read what is waiting first) matching `kind` and `want`."""
        while self._read(0):
            pass
        want = {k: str(v) for k, v in want.items()}
        return [f for k, f in self.seen if (kind is None or k == kind)
                and all(f.get(x) == v for x, v in want.items())]
