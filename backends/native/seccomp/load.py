"""Load compiled seccomp filters into the calling thread: the launcher's fast path.

Standard library and ctypes only (no libseccomp): prctl(PR_SET_NO_NEW_PRIVS) and
then seccomp(SECCOMP_SET_MODE_FILTER) with SECCOMP_FILTER_FLAG_LOG, so that the
calls a filter refuses with an errno are audited too (type=1326 records).

Load the deny filter (explicit denials) first and the allow filter last: the kernel
runs every filter and keeps the most restrictive answer.
"""
from __future__ import annotations

import errno
import os

from ..launch import ctypes_lite as ctypes   # not `import ctypes`: 3 ms of a launch (see ctypes_lite)

PR_SET_NO_NEW_PRIVS = 38
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_LOG = 1 << 1
BPF_MAXINSNS = 4096
UNRESTRICTED = b"@unrestricted\n"

_SYS_SECCOMP = {"x86_64": 317, "i386": 354, "i686": 354, "aarch64": 277, "armv7l": 383, "armv8l": 383,
                "ppc64le": 358, "ppc64": 358, "s390x": 348, "riscv64": 277}


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


_libc = None


def _c():
    global _libc
    if _libc is None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
        libc.prctl.restype = ctypes.c_int
        libc.syscall.restype = ctypes.c_long
        _libc = libc
    return _libc


def _oserror(what: str) -> OSError:
    code = ctypes.get_errno()
    return OSError(code, f"{what}: {os.strerror(code)}")


def is_unrestricted(data: bytes) -> bool:
    """Whether compiled output means "no filter" (the marker snap-seccomp writes)."""
    return data == UNRESTRICTED


def set_no_new_privs() -> None:
    if _c().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise _oserror("prctl(PR_SET_NO_NEW_PRIVS)")


def load_filter(bpf: bytes, log: bool = True) -> None:
    """Install one raw BPF filter (8-byte sock_filter records) on the calling thread.

    Sets no_new_privs first (required to load a filter without CAP_SYS_ADMIN, and
    what snap-confine does). Raises OSError when the kernel refuses.
    """
    if is_unrestricted(bpf):
        raise OSError(errno.EINVAL, "this is the @unrestricted marker, not a filter: load nothing")
    count, rest = divmod(len(bpf), 8)
    if rest or not 0 < count <= BPF_MAXINSNS:
        raise OSError(errno.EINVAL, f"not a seccomp filter: {len(bpf)} bytes "
                                    f"(whole 8-byte instructions, 1 to {BPF_MAXINSNS})")
    machine = os.uname().machine
    nr = _SYS_SECCOMP.get(machine)
    if nr is None:
        raise OSError(errno.ENOSYS, f"no seccomp syscall number known for {machine}")
    libc = _c()
    insns = (_SockFilter * count).from_buffer_copy(bpf)
    prog = _SockFprog(count, insns)
    set_no_new_privs()
    flags = SECCOMP_FILTER_FLAG_LOG if log else 0
    if libc.syscall(ctypes.c_long(nr), ctypes.c_long(SECCOMP_SET_MODE_FILTER), ctypes.c_long(flags),
                    ctypes.byref(prog)) != 0:
        raise _oserror("seccomp(SECCOMP_SET_MODE_FILTER)")


def load_files(allow_path: str | os.PathLike, deny_path: str | os.PathLike | None = None,
               log: bool = True) -> list[str]:
    """Load a compiled profile: the deny filter (if the file exists) then the allow filter.

    Returns what was loaded, in order ("deny", "allow"), or ["unrestricted"] when the
    allow output is the @unrestricted marker (nothing is loaded then).
    """
    with open(allow_path, "rb") as f:
        allow = f.read()
    if is_unrestricted(allow):
        return ["unrestricted"]
    deny = None
    if deny_path is not None:
        try:
            with open(deny_path, "rb") as f:
                deny = f.read()
        except FileNotFoundError:
            deny = None
    loaded = []
    if deny:
        load_filter(deny, log)
        loaded.append("deny")
    load_filter(allow, log)
    loaded.append("allow")
    return loaded
