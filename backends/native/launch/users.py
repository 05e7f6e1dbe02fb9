"""Who the app runs as: `confine run --user NAME` (root by default for root; the
invoking user otherwise), with that user's groups and home directory."""
from __future__ import annotations

import os
import pwd


class UserError(Exception):
    pass


class User:
    __slots__ = ("name", "uid", "gid", "home", "groups")

    def __init__(self, name: str, uid: int, gid: int, home: str, groups: list[int]):
        self.name, self.uid, self.gid, self.home, self.groups = name, uid, gid, home, groups

    def __repr__(self) -> str:
        return f"{self.name} (uid {self.uid}, gid {self.gid})"


def _from_pw(pw, with_groups: bool = True) -> User:
    groups = [pw.pw_gid]
    if with_groups:
        try:
            groups = os.getgrouplist(pw.pw_name, pw.pw_gid)
        except OSError:
            pass
    return User(pw.pw_name, pw.pw_uid, pw.pw_gid, pw.pw_dir or "/", groups)


def resolve(name: str | None) -> User:
    """The user named (or numbered) `name`; the invoking user when None (root as root)."""
    if name is None:
        uid = os.getuid()
        try:
            return _from_pw(pwd.getpwuid(uid))
        except KeyError:
            # a uid without a passwd entry (a container): still a user
            return User(str(uid), uid, os.getgid(), os.environ.get("HOME") or "/", [os.getgid()])
    try:
        pw = pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
    except KeyError:
        raise UserError(f"--user {name}: no such user") from None
    return _from_pw(pw)


class as_user:
    """Effective ids of `user` for a block (files created belong to them, and their
    permissions are checked); the real and saved ids stay root, so the block can
    return. Only for a root process."""

    def __init__(self, user: User):
        self.user = user
        self.active = os.geteuid() == 0 and user.uid != 0

    def __enter__(self):
        if self.active:
            self.old_groups = os.getgroups()
            os.setgroups(self.user.groups)
            os.setresgid(-1, self.user.gid, -1)
            os.setresuid(-1, self.user.uid, -1)
        return self

    def __exit__(self, *exc):
        if self.active:
            os.setresuid(-1, 0, -1)
            os.setresgid(-1, 0, -1)
            os.setgroups(self.old_groups)
        return False


def switch(user: User) -> None:
    """Become `user` for good: groups, then gid, then uid (real, effective, saved)."""
    os.setgroups(user.groups)
    os.setresgid(user.gid, user.gid, user.gid)
    os.setresuid(user.uid, user.uid, user.uid)
    if os.getresuid() != (user.uid,) * 3 or os.getresgid() != (user.gid,) * 3:
        raise UserError(f"could not become {user!r}")
