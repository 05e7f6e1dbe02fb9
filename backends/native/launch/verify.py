"""Read the precompiled profiles of one app, trusting only root-owned files.

As snap-confine does before it loads anything: each file must be a regular file
owned by root that neither group nor others may write, and so must every
directory above it (a sticky directory such as /tmp excepted, whose entries only
their owner may rename). A compiled seccomp filter must be fresh: its `.sha256`
stamp must equal the hash of the source it was compiled from. A missing, stale or
badly owned profile is an error naming the file and the command that fixes it.

Files are opened without following a symlink at the last component and checked
on the open descriptor, so what is checked is what is read.
"""
from __future__ import annotations

import os
import stat

try:                                   # the C module: hashlib costs milliseconds to import
    from _sha256 import sha256 as _sha256
except ImportError:  # pragma: no cover - a Python without it
    from hashlib import sha256 as _sha256

FIX = "confine doctor --repair"


class ProfileError(Exception):
    """A profile that cannot be trusted or used; the message names the file and the fix."""


def _who(uid: int) -> str:
    try:
        import pwd
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (KeyError, ImportError):
        return f"uid {uid}"


def check_parents(path: str, owners: tuple[int, ...], seen: set[str]) -> None:
    """Every directory above `path`: owned by one of `owners`, not writable by group or
    others unless sticky. `seen` caches directories already checked."""
    d = os.path.dirname(path)
    while True:
        if d not in seen:
            try:
                st = os.lstat(d)
            except OSError as exc:
                raise ProfileError(f"{d}: cannot check the directory above the profiles: {exc.strerror}") from None
            if stat.S_ISLNK(st.st_mode):
                # a symlinked component: check where it leads as well
                check_parents(os.path.join(os.path.realpath(d), "x"), owners, seen)
            elif st.st_uid not in owners:
                raise ProfileError(f"{d}: the directory above the profiles is owned by {_who(st.st_uid)}, not root: "
                                   f"profiles there are not trusted (fix its owner, or run `{FIX}` on a root-owned state)")
            elif st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
                raise ProfileError(f"{d}: the directory above the profiles is writable by "
                                   f"{_writers(st.st_mode)} (mode {stat.S_IMODE(st.st_mode):04o}): "
                                   f"profiles there are not trusted (chmod go-w {d})")
            seen.add(d)
        if d == "/" or not d:
            return
        d = os.path.dirname(d)


def _writers(mode: int) -> str:
    w = [n for n, bit in (("group", 0o020), ("others", 0o002)) if mode & bit]
    return " and ".join(w)


def read_trusted(path: str, what: str, owners: tuple[int, ...], seen: set[str]) -> bytes:
    """The bytes of a profile file, after checking its owner and mode (and its parents')."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ProfileError(f"{path}: the {what} profile is missing: run `{FIX}`") from None
    except OSError as exc:
        if exc.errno == 40:   # ELOOP: a symlink
            raise ProfileError(f"{path}: the {what} profile is a symlink: refusing it; run `{FIX}`") from None
        raise ProfileError(f"{path}: cannot open the {what} profile: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ProfileError(f"{path}: the {what} profile is not a regular file: run `{FIX}`")
        if st.st_uid not in owners:
            raise ProfileError(f"{path}: the {what} profile is owned by {_who(st.st_uid)}, not root: "
                               f"refusing it; run `{FIX}`")
        if st.st_mode & 0o022:
            raise ProfileError(f"{path}: the {what} profile is writable by {_writers(st.st_mode)} "
                               f"(mode {stat.S_IMODE(st.st_mode):04o}): refusing it; run `{FIX}`")
        check_parents(path, owners, seen)
        chunks = []
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        os.close(fd)


def check_fresh(path: str, data: bytes, source: str, stamp: str, what: str) -> None:
    """The compiled `path` was built from `source` as it is now (its stamp holds the source's hash)."""
    try:
        with open(source, "rb") as f:
            src = f.read()
    except FileNotFoundError:
        raise ProfileError(f"{source}: the source of {path} is missing: run `{FIX}`") from None
    try:
        with open(stamp, "rb") as f:
            want = f.read().decode("ascii", "replace").strip()
    except FileNotFoundError:
        raise ProfileError(f"{path}: the {what} profile has no stamp {stamp}, so it may be stale: run `{FIX}`") from None
    if _sha256(src).hexdigest() != want:
        raise ProfileError(f"{path}: the {what} profile is stale: it was not compiled from {source} as it is now; "
                           f"run `{FIX}`")


def source_has_denials(source: str) -> bool:
    """Whether a seccomp source has explicit denials (`~` lines), so a deny filter must exist.
    An `@unrestricted` source (classic, or an interface such as docker-support with
    privileged containers) loads no filter at all, so it has no deny filter either."""
    try:
        with open(source, "rb") as f:
            lines = [line.strip() for line in f]
    except OSError:
        return True
    if b"@unrestricted" in lines:
        return False
    return any(line.startswith(b"~") for line in lines)
