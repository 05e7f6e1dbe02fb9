"""Capabilities: what a root app keeps.

AppArmor refuses a confined app every capability its profile does not grant
(`capability net_admin,`). Where the kernel has no AppArmor nothing would, and an
app run as root would keep them all: CAP_SYS_ADMIN alone mounts, makes
namespaces and reaches most of the kernel. So the launcher takes them away
itself: every capability no rule of the app's AppArmor profile grants leaves the
bounding set (then no execve can give it back, not even to root), the
inheritable set and the ambient set. The effective and permitted sets are cut
by the kernel at the app's execve, to what the bounding set still holds.

Standard library and ctypes only: the launcher's fast path imports this.
"""
from __future__ import annotations

import os

from . import ctypes_lite as ctypes        # not `import ctypes`: 3 ms of a launch (see ctypes_lite)
from ..capability_names import NAMES

# Capability numbers by name.
NUMBER = {name: n for n, name in enumerate(NAMES)}
ALL = "all"

# `capability,` or `[audit] [allow] capability NAME [NAME]...,` (deny rules grant nothing);
# compiled on first use: `re` is not imported on the launcher's fast path
_RULE_TEXT = r"\s*(?:audit\s+)?(?:allow\s+)?capability((?:\s+[a-z_]+)*)\s*,\s*"
_rule: list = []


def granted(texts) -> list[str] | str:
    """The capabilities the AppArmor snippets `texts` grant: sorted names, or ALL
    for a bare `capability,`. Unknown names are ignored (newer AppArmor)."""
    if not _rule:
        import re
        _rule.append(re.compile(_RULE_TEXT))
    rule = _rule[0]
    names: set[str] = set()
    for text in texts:
        for line in str(text or "").split("\n"):
            m = rule.fullmatch(line.split("#", 1)[0])
            if not m:
                continue
            words = m.group(1).split()
            if not words:
                return ALL
            names.update(w for w in words if w in NUMBER)
    return sorted(names, key=NUMBER.__getitem__)


# ---- applying them (ctypes) -----------------------------------------------------------

PR_CAPBSET_READ, PR_CAPBSET_DROP = 23, 24
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


_libc = None


def _c():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def last_cap() -> int:
    """The highest capability number this kernel knows."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except (OSError, ValueError):
        return len(NAMES) - 1


def bounding_set() -> set[int]:
    """The capabilities of this process's bounding set."""
    c = _c()
    return {n for n in range(last_cap() + 1) if c.prctl(PR_CAPBSET_READ, n, 0, 0, 0) == 1}


def bounding_set_names() -> set[str]:
    return {NAMES[n] for n in bounding_set() if n < len(NAMES)}


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def restrict(keep: set[int]) -> list[int]:
    """Drop every capability not in `keep` from the bounding, inheritable and
    ambient sets of this process; the numbers dropped from the bounding set."""
    c = _c()
    dropped = []
    for n in range(last_cap() + 1):
        if n in keep or c.prctl(PR_CAPBSET_READ, n, 0, 0, 0) != 1:
            continue
        _check(c.prctl(PR_CAPBSET_DROP, n, 0, 0, 0), f"dropping capability {n} from the bounding set")
        dropped.append(n)
    # Ambient capabilities survive execve for a non-root user: none are kept.
    c.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)   # fails only where there are none (old kernels)
    header, data = _Header(_LINUX_CAPABILITY_VERSION_3, 0), (_Data * 2)()
    _check(c.capget(ctypes.byref(header), data), "capget")
    mask = [sum(1 << (n - 32 * i) for n in keep if 32 * i <= n < 32 * (i + 1)) for i in range(2)]
    for i in range(2):
        data[i].inheritable &= mask[i]
    _check(c.capset(ctypes.byref(header), data), "capset")
    return dropped
