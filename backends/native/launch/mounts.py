"""Namespaces and mounts for the launcher: unshare, mount, the new mount API
(open_tree, move_mount, mount_setattr), through ctypes.

Standard library and ctypes only, and nothing that imports `re` or `enum`: this
is on the `confine run` fast path. Python 3.11 has no os.unshare and no mount
call at all, hence the raw calls. Every failure raises OSError naming the call
and the path.
"""
from __future__ import annotations

import os

from . import ctypes_lite as ctypes        # not `import ctypes`: 3 ms of a launch (see ctypes_lite)

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

# new mount API (Linux 5.2+ / 5.12+ for mount_setattr); one number on every arch but alpha
NR_OPEN_TREE = 428
NR_MOVE_MOUNT = 429
NR_MOUNT_SETATTR = 442
OPEN_TREE_CLONE = 1
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_EMPTY_PATH = 0x1000
AT_RECURSIVE = 0x8000
MOVE_MOUNT_F_EMPTY_PATH = 0x4
MOVE_MOUNT_T_EMPTY_PATH = 0x40
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4
MOUNT_ATTR_NOEXEC = 0x8

_libc = None


def libc():
    global _libc
    if _libc is None:
        lib = ctypes.CDLL(None, use_errno=True)
        lib.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
        lib.mount.restype = ctypes.c_int
        lib.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
        lib.umount2.restype = ctypes.c_int
        lib.unshare.argtypes = [ctypes.c_int]
        lib.unshare.restype = ctypes.c_int
        lib.syscall.restype = ctypes.c_long
        _libc = lib
    return _libc


def _b(s: str | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def _fail(what: str) -> OSError:
    code = ctypes.get_errno()
    return OSError(code, f"{what}: {os.strerror(code)}")


def unshare(flags: int) -> None:
    if libc().unshare(flags) != 0:
        names = [n for n, f in (("CLONE_NEWUSER", CLONE_NEWUSER), ("CLONE_NEWNS", CLONE_NEWNS)) if flags & f]
        raise _fail(f"unshare({'|'.join(names) or hex(flags)})")


def mount(source: str | None, target: str, fstype: str | None = None, flags: int = 0,
          data: str | None = None) -> None:
    if libc().mount(_b(source), _b(target), _b(fstype), flags, _b(data)) != 0:
        raise _fail(f"mount {source or fstype or '(none)'} on {target}")


def umount(target: str, flags: int = 0) -> None:
    if libc().umount2(_b(target), flags) != 0:
        raise _fail(f"umount {target}")


def make_private(path: str = "/") -> None:
    """Private propagation for every mount under `path`: nothing done here reaches the host."""
    mount(None, path, None, MS_REC | MS_PRIVATE)


def open_tree_clone(path: str, recursive: bool = True) -> int:
    """A detached copy of the mount tree at `path` (an fd; close it after move_mount)."""
    flags = OPEN_TREE_CLONE | os.O_CLOEXEC | (AT_RECURSIVE if recursive else 0)
    fd = libc().syscall(ctypes.c_long(NR_OPEN_TREE), ctypes.c_int(AT_FDCWD), _b(path), ctypes.c_uint(flags))
    if fd < 0:
        raise _fail(f"open_tree {path}")
    return int(fd)


def move_mount_to_fd(tree_fd: int, dir_fd: int, what: str) -> None:
    """Attach a detached tree on the directory open as `dir_fd` (no path lookup: no symlink race)."""
    rc = libc().syscall(ctypes.c_long(NR_MOVE_MOUNT), ctypes.c_int(tree_fd), b"", ctypes.c_int(dir_fd), b"",
                        ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH))
    if rc != 0:
        raise _fail(f"move_mount onto {what}")


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def set_attr(path: str | None, attr_set: int, *, fd: int = AT_FDCWD, recursive: bool = True) -> None:
    """mount_setattr: add `attr_set` (MOUNT_ATTR_*) to the mount at `path` (or the tree `fd`)."""
    attr = _MountAttr(attr_set, 0, 0, 0)
    flags = (AT_RECURSIVE if recursive else 0) | (AT_EMPTY_PATH if path is None else 0)
    rc = libc().syscall(ctypes.c_long(NR_MOUNT_SETATTR), ctypes.c_int(fd), _b(path or ""), ctypes.c_uint(flags),
                        ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)))
    if rc != 0:
        raise _fail(f"mount_setattr {path or '(detached tree)'}")


def _mounts_under(path: str) -> list[tuple[str, str]]:
    """(mount point, per-mount options) of every mount at or under `path`, from mountinfo."""
    out = []
    top = path.rstrip("/") or "/"
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f.read().decode("utf-8", "surrogateescape").splitlines():
            fields = line.split(" ")
            mp = fields[4].replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
            if mp == top or mp.startswith(top.rstrip("/") + "/"):
                out.append((mp, fields[5]))
    return out


_OPT_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC}


def make_read_only(path: str) -> str:
    """Bind `path` onto itself and make it and every mount below it read-only.

    mount_setattr(AT_RECURSIVE) where the kernel has it (5.12+), else a remount of
    each mount, keeping its nosuid/nodev/noexec (a user namespace may not drop
    them). Returns how it was done.
    """
    mount(path, path, None, MS_BIND | MS_REC)
    try:
        set_attr(path, MOUNT_ATTR_RDONLY, recursive=True)
        return "mount_setattr(AT_RECURSIVE)"
    except OSError as exc:
        if exc.errno not in (38, 22):   # ENOSYS, EINVAL: an older kernel
            raise
    for mp, opts in _mounts_under(path):
        flags = MS_BIND | MS_REMOUNT | MS_RDONLY
        for o in opts.split(","):
            flags |= _OPT_FLAGS.get(o, 0)
        mount(None, mp, None, flags)
    return "remount of each mount"


def secure_mkdirs(base: str, rel: str, mode: int = 0o755) -> int:
    """Open (creating as needed) the directory `base`/`rel` one component at a time,
    never following a symlink; every component created or crossed below `base` must
    be a directory owned by us. Returns an O_PATH fd of the last one.

    Used inside a shared, world-writable directory (the snap's /tmp), where another
    user could have planted a symlink or a directory of their own.
    """
    uid = os.geteuid()
    fd = os.open(base, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in [p for p in rel.split("/") if p]:
            if part in (".", ".."):
                raise OSError(22, f"{base}/{rel}: '.' and '..' are not allowed")
            try:
                os.mkdir(part, mode, dir_fd=fd)
                created = True
            except FileExistsError:
                created = False
            nfd = os.open(part, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            st = os.fstat(nfd)
            if st.st_uid != uid:
                os.close(nfd)
                raise OSError(1, f"{base}/{rel}: {part} is owned by uid {st.st_uid}, not by us: refusing to use it")
            if created:
                os.chmod(f"/proc/self/fd/{nfd}", mode)
            os.close(fd)
            fd = nfd
    except BaseException:
        os.close(fd)
        raise
    return fd
