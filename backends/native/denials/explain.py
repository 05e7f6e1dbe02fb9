"""One plain sentence per denial: what was refused, to which app; then why, where known.

    explain(denial, already=(), harmless=None) -> str

The reasons come from data: data/syscalls.yaml (the system calls the default seccomp
policy refuses, or allows only with some arguments, and why) and
data/capabilities.yaml (what each capability would let the app do).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from ...model import Denial

DATA = Path(__file__).with_name("data")

FILE_VERBS = {
    "r": "reading", "w": "writing", "a": "appending to", "c": "creating", "d": "deleting", "x": "executing",
    "m": "mapping as executable", "k": "locking", "l": "linking", "N": "changing profile to",
}
LANDLOCK_FS = {
    "read_file": "reading the file", "read_dir": "listing the directory", "write_file": "writing the file",
    "execute": "executing", "truncate": "truncating", "ioctl_dev": "a device ioctl on",
    "remove_file": "removing a file from", "remove_dir": "removing a directory from",
    "make_reg": "creating a file in", "make_dir": "creating a directory in", "make_sock": "creating a socket in",
    "make_fifo": "creating a FIFO in", "make_sym": "creating a symbolic link in",
    "make_char": "creating a character device in", "make_block": "creating a block device in",
    "refer": "moving or linking a file across directories into",
}
NET_OPS = {
    "create": "creating", "connect": "connecting", "bind": "binding", "listen": "listening on",
    "accept": "accepting connections on", "sendmsg": "sending on", "recvmsg": "receiving on",
    "getsockopt": "reading options of", "setsockopt": "setting options of", "getsockname": "naming",
    "getpeername": "naming the peer of", "shutdown": "shutting down",
}
WHY_LANDLOCK_FS = ("Its Landlock rules cover only the app's own directories, the read-only parts of the "
                   "system and what its connected interfaces add, and this path is under none of them.")
WHY_LANDLOCK_NET = ("Its Landlock rules block TCP {what} unless a connected interface grants it.")
WHY_LANDLOCK_SCOPE = ("Landlock keeps the app from {what} processes outside its own sandbox unless a connected "
                      "interface lifts that.")
WHY_APPARMOR = "Its AppArmor profile has no rule that allows this."


@lru_cache(maxsize=1)
def syscall_reasons() -> dict[str, dict]:
    """syscall name -> {"why": ..., "allowed": ... (restricted only)}."""
    with open(DATA / "syscalls.yaml") as f:
        data = yaml.safe_load(f) or {}
    out: dict[str, dict] = {}
    for group in data.get("refused", []):
        for name in group["syscalls"]:
            out[name] = {"why": " ".join(group["why"].split())}
    for group in data.get("restricted", []):
        for name in group["syscalls"]:
            out[name] = {"why": " ".join(group["why"].split()), "allowed": group["allowed"]}
    return out


@lru_cache(maxsize=1)
def capability_reasons() -> tuple[str, dict[str, str]]:
    with open(DATA / "capabilities.yaml") as f:
        data = yaml.safe_load(f) or {}
    return " ".join(str(data.get("why", "")).split()), dict(data.get("capabilities", {}))


def who(d: Denial) -> str:
    if d.snap and d.app:
        return f"{d.snap}.{d.app}"
    if d.snap:
        return f"an app of snap {d.snap}"
    if d.profile and d.profile != "unconfined":
        return f"profile {d.profile}"
    if d.comm:
        return f"process {d.comm}" + (f" (pid {d.pid})" if d.pid else "")
    if d.pid:
        return f"process {d.pid}"
    return "a process"


def _mask_words(mask: str | None) -> str:
    letters = [c for c in (mask or "") if c in FILE_VERBS]
    words = []
    for c in letters:
        w = FILE_VERBS[c]
        if w not in words:
            words.append(w)
    if not words:
        return f"access ({mask})" if mask else "access to"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


def _blockers(d: Denial) -> list[str]:
    f = d.fields or {}
    text = f.get("blockers") or d.operation or ""
    return [b.strip() for b in text.split(",") if b.strip()]


def sentence(d: Denial) -> str:
    """What was refused, to which app (or what was only logged, for complain mode)."""
    subject = who(d)
    allowed = d.mode == "ALLOWED"
    verb = "was allowed, in complain mode, what its policy would refuse:" if allowed else "was refused"
    f = d.fields or {}
    if d.kind == "seccomp":
        call = f"the system call {d.syscall or '#' + str(d.syscall_nr)}()"
        if d.arch and d.arch not in ("x86_64",):
            call += f" ({d.arch})"
        if allowed:
            return f"{subject} made {call}, which its seccomp policy does not allow; it was only logged."
        action = (d.action or "").lower()
        if "kill" in action:
            tail = ": the process was killed"
        elif "trap" in action:
            tail = ": the process got SIGSYS"
        else:
            tail = ": the call failed with an error (EPERM from this project's filters; the errno is not logged)"
        return f"{subject} {verb} {call}{tail}."
    if d.kind == "landlock":
        blockers = _blockers(d)
        path = d.name or f.get("path")
        fs = [b.split(".", 1)[1] for b in blockers if b.startswith("fs.")]
        if fs:
            words = [LANDLOCK_FS.get(r, r.replace("_", " ")) for r in fs]
            what = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
            return f"{subject} {verb} {what} {path or '?'} (Landlock)."
        net = [b for b in blockers if b.startswith("net.")]
        if net:
            if any("bind" in b for b in net):
                port = f.get("src") or f.get("sport") or ""
                addr = f.get("saddr") or ""
                where = f" {addr}" if addr else ""
                where += f" port {port}" if port else ""
                return f"{subject} {verb} binding a TCP socket{where} (Landlock)."
            addr = f.get("daddr") or ""
            port = f.get("dest") or f.get("dport") or ""
            where = f" to {addr}" if addr else ""
            where += f" port {port}" if port else ""
            return f"{subject} {verb} a TCP connection{where} (Landlock)."
        scope = [b for b in blockers if b.startswith("scope.")]
        if scope:
            target = f.get("ocomm") or ""
            opid = f.get("opid") or ""
            other = (f"{target} (pid {opid})" if target and opid else target or (f"pid {opid}" if opid else
                                                                                 "a process"))
            if any("signal" in b for b in scope):
                return f"{subject} {verb} sending a signal to {other} outside its sandbox (Landlock)."
            return f"{subject} {verb} connecting to the abstract unix socket {path or ''} outside its sandbox " \
                   "(Landlock).".replace("  ", " ")
        return f"{subject} {verb} {d.operation or 'an access'} (Landlock)."
    if d.kind == "dbus":
        member = ".".join(x for x in (f.get("interface"), f.get("member")) if x)
        dest = f.get("name") or f.get("dest")
        parts = [f"the D-Bus {'message ' + member if member else 'message'}"]
        if dest:
            parts.append(f"to {dest}")
        if f.get("path"):
            parts.append(f"at {f['path']}")
        if f.get("bus"):
            parts.append(f"on the {f['bus']} bus")
        return f"{subject} {verb} {d.denied or d.requested or 'sending'} of " + " ".join(parts) + "."
    if d.kind == "apparmor":
        cls = (d.cls or "").lower()
        if d.capability or cls == "capability":
            _why, caps = capability_reasons()
            cap = (d.capability or "").lower()
            what = caps.get(cap)
            return f"{subject} {verb} the capability {cap or '?'}" + (f" ({what})." if what else ".")
        if cls == "network":
            kind = " ".join(x for x in (d.family or "", f.get("sock_type") or "") if x)
            sock = f"{'an' if kind[:1] in 'aeiou' and kind else 'a'} {kind + ' ' if kind else ''}socket"
            op = (d.operation or "").lower()
            doing = NET_OPS.get(op)
            what = f"{doing} {sock}" if doing else (f"{op} on {sock}" if op else f"using {sock}")
            return f"{subject} {verb} {what}."
        if cls == "signal":
            return f"{subject} {verb} sending signal {f.get('signal', '?')} to {f.get('peer', 'another process')}."
        if cls == "ptrace":
            return f"{subject} {verb} {d.denied or d.requested or 'tracing'} access to {f.get('peer', 'another process')}" \
                   " (ptrace)."
        if cls == "unix":
            return f"{subject} {verb} {d.operation or 'using'} a unix socket" + (
                f" with {f['peer_label']}" if f.get("peer_label") else "") + "."
        if cls == "mount":
            return f"{subject} {verb} {d.operation or 'mounting'} {d.name or ''}".rstrip() + "."
        if cls == "userns":
            return f"{subject} {verb} creating a user namespace."
        if d.name:
            return f"{subject} {verb} {_mask_words(d.denied or d.requested)} {d.name}."
        return f"{subject} {verb} {d.operation or 'an operation'}."
    return f"A record that was not understood: {d.reason or 'no reason given'}."


def reason(d: Denial) -> str:
    """Why it is blocked, where known (may be empty)."""
    if d.kind == "seccomp" and d.syscall:
        entry = syscall_reasons().get(d.syscall)
        if entry is None:
            return ""
        if "allowed" in entry:
            return f"The default policy allows {d.syscall} only for {entry['allowed']}: {entry['why']}"
        return entry["why"]
    if d.kind == "landlock":
        blockers = _blockers(d)
        if any(b.startswith("fs.") for b in blockers):
            return WHY_LANDLOCK_FS
        if any(b.startswith("net.") for b in blockers):
            what = " and ".join(sorted({"bind" if "bind" in b else "connect" for b in blockers
                                        if b.startswith("net.")}))
            return WHY_LANDLOCK_NET.format(what=what)
        if any(b.startswith("scope.") for b in blockers):
            what = "signalling" if any("signal" in b for b in blockers) else "reaching abstract unix sockets of"
            return WHY_LANDLOCK_SCOPE.format(what=what)
        return ""
    if d.kind == "apparmor" and (d.capability or (d.cls or "") == "capability"):
        why, _caps = capability_reasons()
        return why
    if d.kind in ("apparmor", "dbus"):
        return WHY_APPARMOR
    return ""


def explain(d: Denial, already: list[str] | tuple[str, ...] = (), harmless: str | None = None,
            suggested: bool = True) -> str:
    """The full explanation: sentence, why, and notes on connected interfaces and noise."""
    if d.kind == "unparsed":
        return sentence(d)
    parts = [sentence(d)]
    why = reason(d)
    if why:
        parts.append(why)
    if already:
        names = ", ".join(already)
        parts.append(f"Connected already: {names} would allow this, so the app's profiles may be out of date "
                     "(`confine doctor --repair` regenerates them).")
    if harmless:
        parts.append(f"Likely harmless: {harmless}")
    if not suggested and not already and d.is_denial:
        parts.append("No interface of the catalogue allows this.")
    return " ".join(parts)
