"""The kernel's audit switch, read and set over netlink (AUDIT_GET / AUDIT_SET).

Landlock logs its denials only while audit is enabled; seccomp's do not need it.
Enabling audit is never a side effect: `--enable-audit` asks for it, and
`AuditEnabled` restores the value it found when the last follower that asked for it
leaves (normal end, an exception, SIGINT or SIGTERM in the CLI). Followers that run
side by side share one holder file, /run/confine/audit-enabled.json, under a lock:
it records the value found before the first of them and the pids holding it, so the
last one out restores it; a holder that died (SIGKILL) is dropped by the next one,
and if none is left alive the value is restored then, with a message.

    get_status() -> AuditStatus
    set_enabled(value)                  needs CAP_AUDIT_CONTROL
    AuditEnabled(report=print)          context manager; .previous, .changed
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import struct
from dataclasses import dataclass
from typing import Callable

from ...errors import ConfineError

NETLINK_AUDIT = 9
AUDIT_GET = 1000
AUDIT_SET = 1001
AUDIT_STATUS_ENABLED = 0x0001
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLMSG_ERROR = 2
HDR = struct.Struct("=IHHII")
STATUS = struct.Struct("=10I")        # mask enabled failure pid rate_limit backlog_limit lost backlog
                                      # feature_bitmap backlog_wait_time (newer kernels append more)
HOLDERS = "/run/confine/audit-enabled.json"
NAMES = {0: "disabled", 1: "enabled", 2: "enabled and locked"}


class AuditError(ConfineError):
    """The audit switch could not be read or changed; the message says why."""


@dataclass(frozen=True)
class AuditStatus:
    enabled: int            # 0 off, 1 on, 2 on and locked (immutable until reboot)
    failure: int
    pid: int                # the registered audit daemon, 0 when none
    rate_limit: int
    backlog_limit: int
    lost: int
    backlog: int

    @property
    def text(self) -> str:
        return NAMES.get(self.enabled, str(self.enabled))


def _request(mtype: int, payload: bytes = b"") -> list[tuple[int, bytes]]:
    try:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_AUDIT)
    except OSError as exc:
        raise AuditError(f"no audit socket: {exc.strerror} (a kernel without CONFIG_AUDIT?)") from None
    try:
        s.settimeout(2.0)
        s.bind((0, 0))
        s.send(HDR.pack(HDR.size + len(payload), mtype, NLM_F_REQUEST | NLM_F_ACK, 1, 0) + payload)
        replies: list[tuple[int, bytes]] = []
        while True:
            try:
                data = s.recv(65536)
            except socket.timeout:
                raise AuditError("the kernel did not answer the audit request") from None
            _len, rtype, _flags, _seq, _pid = HDR.unpack_from(data)
            body = data[HDR.size:]
            if rtype == NLMSG_ERROR:
                (code,) = struct.unpack_from("=i", body)
                if code:
                    raise OSError(-code, os.strerror(-code))
                if mtype != AUDIT_GET or replies:
                    return replies
                continue                      # the ACK of a GET may come before the status
            replies.append((rtype, body))
            if mtype == AUDIT_GET and rtype == AUDIT_GET:
                return replies
    finally:
        s.close()


def get_status() -> AuditStatus:
    """The kernel's audit status (readable by root; others get PermissionError)."""
    for rtype, body in _request(AUDIT_GET):
        if rtype == AUDIT_GET and len(body) >= STATUS.size:
            f = STATUS.unpack_from(body)
            return AuditStatus(f[1], f[2], f[3], f[4], f[5], f[6], f[7])
    raise AuditError("the kernel sent no audit status")


def set_enabled(value: int) -> None:
    """Set the audit switch (0 or 1). Raises AuditError saying why it could not."""
    payload = STATUS.pack(AUDIT_STATUS_ENABLED, value, 0, 0, 0, 0, 0, 0, 0, 0)
    try:
        _request(AUDIT_SET, payload)
    except OSError as exc:
        if exc.errno == errno.EPERM:
            raise AuditError(f"setting audit to {NAMES.get(value, value)} needs CAP_AUDIT_CONTROL (root), "
                             "or audit is locked (enabled=2)") from None
        raise AuditError(f"setting audit to {NAMES.get(value, value)}: {exc.strerror}") from None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Holders:
    """The shared holder file, locked while open."""

    def __init__(self, path: str):
        self.path = path

    def __enter__(self):
        os.makedirs(os.path.dirname(self.path), mode=0o755, exist_ok=True)
        self.fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        try:
            with open(self.path) as f:
                self.data = json.load(f)
            if not isinstance(self.data, dict) or not isinstance(self.data.get("pids"), list):
                self.data = None
        except (OSError, ValueError):
            self.data = None
        return self

    def save(self) -> None:
        if self.data is None or not self.data.get("pids"):
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            return
        tmp = f"{self.path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump(self.data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        return False


def recover(report: Callable[[str], None] | None = None, holders: str = HOLDERS) -> str | None:
    """Restore the audit switch if every follower that enabled it died without
    restoring it (SIGKILL, a crash). Returns what was done, or None."""
    if not os.path.exists(holders):
        return None
    with _Holders(holders) as h:
        if h.data is None:
            return None
        alive = [p for p in h.data["pids"] if isinstance(p, int) and _alive(p) and p != os.getpid()]
        if alive:
            if alive != h.data["pids"]:
                h.data["pids"] = alive
                h.save()
            return None
        previous = int(h.data.get("previous", 0))
        h.data["pids"] = []
        msg = (f"audit: a follower that enabled audit ended without restoring it: restored it to "
               f"{NAMES.get(previous, previous)}")
        try:
            set_enabled(previous)
        except AuditError as exc:
            msg = f"audit: could not restore audit to {NAMES.get(previous, previous)}: {exc}"
        h.save()
    if report:
        report(msg)
    return msg


class AuditEnabled:
    """Hold audit enabled for the life of the block, then restore what was found.

    `report` receives one line for each change made (enabling, restoring), so that
    nothing happens silently.
    """

    def __init__(self, report: Callable[[str], None] | None = None, holders: str = HOLDERS):
        self.report = report or (lambda line: None)
        self.holders = holders
        self.previous: int | None = None
        self.changed = False
        self.held = False

    def __enter__(self) -> "AuditEnabled":
        self.enable()
        return self

    def __exit__(self, *exc) -> bool:
        self.restore()
        return False

    def enable(self) -> None:
        recover(self.report, self.holders)
        status = get_status()
        self.previous = status.enabled
        with _Holders(self.holders) as h:
            if h.data is not None and h.data.get("pids"):
                # another follower holds it: join, and leave the restoring to the last one out
                h.data["pids"].append(os.getpid())
                h.save()
                self.held = True
                self.previous = int(h.data.get("previous", status.enabled))
                self.report(f"audit: {status.text}; held together with pid(s) "
                            f"{', '.join(map(str, h.data['pids'][:-1]))}: restored to "
                            f"{NAMES.get(self.previous, self.previous)} when the last of them ends")
                if status.enabled == 0:
                    set_enabled(1)
                return
            if status.enabled != 0:
                self.report(f"audit: already {status.text}: left as it is")
                return
            set_enabled(1)
            self.changed = True
            self.held = True
            h.data = {"previous": status.enabled, "pids": [os.getpid()]}
            h.save()
        self.report("audit: enabled (it was disabled) so that Landlock denials are logged; "
                    "it is disabled again when this ends")

    def restore(self) -> None:
        if not self.held:
            return
        self.held = False
        with _Holders(self.holders) as h:
            pids = [p for p in (h.data or {}).get("pids", []) if isinstance(p, int)]
            others = [p for p in pids if p != os.getpid() and _alive(p)]
            previous = int((h.data or {}).get("previous", self.previous or 0))
            if others:
                h.data["pids"] = others
                h.save()
                self.report(f"audit: left {NAMES.get(1)}: still held by pid(s) {', '.join(map(str, others))}")
                return
            if h.data is not None:
                h.data["pids"] = []
            h.save()
            try:
                set_enabled(previous)
            except AuditError as exc:
                self.report(f"audit: could not restore it to {NAMES.get(previous, previous)}: {exc}")
                raise
        self.report(f"audit: restored to {NAMES.get(previous, previous)}")
