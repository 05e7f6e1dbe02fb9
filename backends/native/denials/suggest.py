"""Which interfaces of the catalogue would allow what a denial refused.

For a denial of snap S, app A, every interface's plug-side policy (connected-plug and
permanent-plug snippets, with S's plug attributes when S has a plug of it, else the
schema's defaults, against each slot of it that is installed) is tested:

    AppArmor file     the path and mask against the file rules, with AppArmor glob
                      semantics (globs.py); `deny` rules of the same interface win
    capability        `capability NAME,` (or a bare `capability,`)
    network           `network FAMILY [TYPE],` (or a bare `network,`)
    D-Bus             dbus rules: access, bus, path, interface, member, peer name
    signal, ptrace, unix, mount, userns    the rule class, access and peer
    seccomp           the syscall against the interface's seccomp lines (grammar.py);
                      with the arguments when the record carries them (a SYSCALL record
                      merged in), else a line with argument conditions only *may* allow
    Landlock          a path against the `filesystem` rules (a directory covers what is
                      beneath it; `*` only in the last component, dotfiles left out),
                      and against the AppArmor rules as a second opinion; TCP bind and
                      connect against `landlock: network`; scopes against `unscoped`

Interfaces already connected to S's plug bound to A are left out (reported apart).
Ranking, best first:

1. S's own plugs of the interface (one `confine connect` away), before interfaces S
   would first have to declare in its snap.yaml;
2. ordinary before super-privileged interfaces;
3. certain before possible (a seccomp line whose argument conditions cannot be
   checked because the record does not log the arguments; a Landlock denial that
   only the interface's AppArmor rules cover);
4. the more specific matching rule (more fixed characters, more argument checks);
5. the interface that grants the least besides (fewest rules in all; blanket rules
   such as `@unrestricted` or a Landlock rule on / count as very many);
6. the name.

Known noise (data/noise.yaml) adds a last "likely harmless" entry.
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import yaml

from ...model import SYSTEM_SNAP, Denial, Interface, Snap
from ..interfaces.catalogue import load_catalogue, select_snippets, validate_attributes
from ..profiles.context import expand_snap_paths
from ..seccomp import grammar
from . import globs

DATA = Path(__file__).with_name("data")
# What each rule counts for in an interface's size (how much it grants besides the
# rule that matched): reading a path 1, writing one 2, a seccomp line 3, a capability 5 ...
BLANKET = 1000                       # a rule that allows everything of its kind
W_WRITE, W_NETWORK, W_SECCOMP, W_DEVICE, W_CAPABILITY, W_LIFT, W_MODULE = 2, 2, 3, 2, 5, 5, 5
NETWORK_TYPES = {"stream", "dgram", "seqpacket", "rdm", "raw", "packet"}
QUALIFIERS = {"audit", "deny", "owner", "allow", "quiet", "kill", "complain", "prompt"}
FILE_PERMS = re.compile(r"^[rwaxmlkdciuUpPC]+$")

# ---- suggestions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """One way to allow a denial: an interface to connect (or declare), or "ignore"."""

    interface: str | None
    action: str                      # connect | bind | declare | ignore
    command: str | None = None       # the ready command, when one exists
    plug: str | None = None          # SNAP:PLUG of the snap's own plug
    slot: str | None = None          # the slot the command connects to (":name" for the system)
    super_privileged: bool = False
    certain: bool = True             # False: may allow (arguments not logged)
    mechanism: str = ""              # apparmor, seccomp, landlock
    rule: str = ""                   # the interface's rule that allows it
    note: str = ""

    def to_json(self) -> dict:
        return {"interface": self.interface, "action": self.action, "command": self.command, "plug": self.plug,
                "slot": self.slot, "super-privileged": self.super_privileged, "certain": self.certain,
                "mechanism": self.mechanism, "rule": self.rule, "note": self.note}


# ---- the policy of one interface, ready to test -------------------------------------------------


@dataclass
class FileRule:
    regex: re.Pattern
    perms: str
    deny: bool
    text: str
    pattern: str


@dataclass
class Grants:
    interface: Interface
    files: list[FileRule] = field(default_factory=list)
    caps: set[str] = field(default_factory=set)
    all_caps: bool = False
    network: list[tuple[str | None, str | None, str]] = field(default_factory=list)
    dbus: list[dict] = field(default_factory=list)
    other: list[dict] = field(default_factory=list)      # signal, ptrace, unix, mount, userns ...
    seccomp: list[grammar.Rule] = field(default_factory=list)
    unrestricted: bool = False
    fs: list[tuple[re.Pattern, str, str]] = field(default_factory=list)   # regex, letters, path as written
    ll_net: set[str] = field(default_factory=set)
    ll_unscoped: set[str] = field(default_factory=set)
    size: int = 0


def _strip_comment(line: str) -> str:
    out = []
    quoted = False
    for i, c in enumerate(line):
        if c == '"':
            quoted = not quoted
        if c == "#" and not quoted and (i == 0 or line[i - 1] in " \t"):
            if line[i:].startswith("#include"):
                return ""
            break
        out.append(c)
    return "".join(out)


def split_rules(text: str) -> list[str]:
    """AppArmor rule text (snippet lines) into rules, each without its final comma."""
    body = " ".join(_strip_comment(line) for line in text.splitlines())
    rules, cur, depth, quoted = [], [], 0, False
    for c in body:
        if c == '"':
            quoted = not quoted
        elif not quoted and c in "({[":
            depth += 1
        elif not quoted and c in ")}]":
            depth = max(0, depth - 1)
        if c == "," and depth == 0 and not quoted:
            rule = " ".join("".join(cur).split())
            if rule:
                rules.append(rule)
            cur = []
            continue
        cur.append(c)
    rest = " ".join("".join(cur).split())
    if rest:
        rules.append(rest)
    return rules


_KV = re.compile(r'(\w+)=(\((?:[^()]*)\)|"[^"]*"|\S+)')


def _access(rule: str) -> set[str] | None:
    """The `(send, receive)` or bare access words right after the rule's class keyword."""
    m = re.match(r"^\w+\s*\(([^)]*)\)", rule)
    if m:
        return {w for w in re.split(r"[\s,]+", m.group(1)) if w}
    m = re.match(r"^\w+\s+([a-z_]+)(?=\s|$)", rule)
    if m and "=" not in m.group(1):
        return {m.group(1)}
    return None


def _kv(rule: str) -> dict[str, str]:
    out = {}
    for k, v in _KV.findall(rule):
        v = v.strip()
        if v.startswith('"') and v.endswith('"'):
            v = v[1:-1]
        out[k] = v
    return out


def _peer(kv: dict[str, str]) -> dict[str, str]:
    p = kv.get("peer")
    if not p:
        return {}
    if p.startswith("(") and p.endswith(")"):
        return {k: v.strip('"') for k, v in _KV.findall(p[1:-1])}
    return {"label": p}


class _Vars:
    """AppArmor variables of a snap (for @{SNAP}, @{SNAP_NAME} ... in rules)."""

    @staticmethod
    def of(snap: Snap | None, app: str | None) -> dict[str, tuple[str, ...]]:
        if snap is None:
            name = "*"
            return {"SNAP_NAME": (name,), "SNAP_INSTANCE_NAME": (name,), "SNAP_REVISION": ("*",),
                    "SNAP_COMMAND_NAME": ("*",), "SNAP": ("/snap/*/*",), "SNAP_DATA": ("/var/snap/*/*",),
                    "SNAP_COMMON": ("/var/snap/*/common",), "SNAP_USER_DATA": ("@{HOME}/snap/*/*",),
                    "SNAP_USER_COMMON": ("@{HOME}/snap/*/common",)}
        rev = snap.revision or "*"
        path = (snap.path or f"/snap/{snap.name}/{rev}").rstrip("/")
        return {"SNAP_NAME": (snap.name,), "SNAP_INSTANCE_NAME": (snap.name,), "SNAP_REVISION": (rev,),
                "SNAP_COMMAND_NAME": (app or "*",), "SNAP": (path,),
                "SNAP_DATA": (f"/var/snap/{snap.name}/{rev}",), "SNAP_COMMON": (f"/var/snap/{snap.name}/common",),
                "SNAP_USER_DATA": (f"@{{HOME}}/snap/{snap.name}/{rev}",),
                "SNAP_USER_COMMON": (f"@{{HOME}}/snap/{snap.name}/common",)}


_HOME = re.compile(r"\$HOME(?![A-Za-z0-9_])")
_SNAPV = re.compile(r"\$(SNAP_USER_DATA|SNAP_USER_COMMON|SNAP_DATA|SNAP_COMMON|SNAP_REAL_HOME|XDG_RUNTIME_DIR|SNAP)"
                    r"(?![A-Za-z0-9_])")


def _apparmor_text(text: str) -> str:
    text = text.replace("###PEER###", '"*"')
    text = _HOME.sub("@{HOME}", text)
    return _SNAPV.sub(lambda m: "@{" + ("HOME" if m.group(1) == "SNAP_REAL_HOME" else m.group(1)) + "}", text)


def _fs_glob(path: str) -> str:
    """A Landlock `filesystem` path as an AppArmor glob of what it covers: the path and
    everything beneath it; a glob in the last component skips names starting with a dot
    unless the pattern itself starts with one (as the launcher expands it)."""
    path = _HOME.sub("@{HOME}", path)
    path = _SNAPV.sub(lambda m: "@{" + ("HOME" if m.group(1) == "SNAP_REAL_HOME" else m.group(1)) + "}", path)
    if path.rstrip("/") == "":
        return "/{,**}"
    path = path.rstrip("/")
    if "/" not in path:                  # a variable alone: @{HOME} ends with its own /
        return f"{path}{{,**}}"
    head, _, last = path.rpartition("/")
    if any(c in last for c in "*?[") and not last.startswith("."):
        last = _no_dot(last)
    return f"{head}/{last}{{,/**}}"


def _no_dot(last: str) -> str:
    """A last component that starts with a glob, made to refuse a leading dot as the
    shell does (`*` never matches a leading "." of a name)."""
    if last.startswith("*"):
        rest = last[1:]
        if not rest:
            return "[^.]*"
        return "{[^.]*" + rest + ("" if rest.startswith(".") else "," + rest) + "}"
    if last.startswith("?"):
        return "[^.]" + last[1:]
    if last.startswith("["):
        return last                      # a class: the kernel-side expansion keeps it as written
    return last


def build_grants(iface: Interface, bodies: Iterable[dict], variables: dict) -> Grants:
    g = Grants(iface)
    for body in bodies:
        if "apparmor" in body:
            _add_apparmor(g, _apparmor_text(body["apparmor"]), variables)
        if "seccomp" in body:
            for i, line in enumerate(body["seccomp"].split("\n"), start=1):
                try:
                    item = grammar.parse_line(line, i, f"interface {iface.name}")
                except Exception:           # a line naming a user this host lacks, say
                    continue
                if item == "@unrestricted":
                    g.unrestricted = True
                    g.size += BLANKET
                elif isinstance(item, grammar.Rule) and not item.deny:
                    g.seccomp.append(item)
                    g.size += W_SECCOMP
        for rule in body.get("filesystem") or []:
            try:
                glob = _fs_glob(rule["path"])
                rx = globs.compile_glob(glob, variables)
            except (globs.GlobError, KeyError, TypeError):
                continue
            g.fs.append((rx, rule.get("access", ""), rule["path"]))
            g.size += BLANKET if rule["path"].rstrip("/") in ("", "/") else (W_WRITE if set(rule.get("access", "")) & set("wx") else 1)
        ll = body.get("landlock") or {}
        g.ll_net |= set(ll.get("network", ()))
        g.ll_unscoped |= set(ll.get("unscoped", ()))
        g.size += W_LIFT * (len(ll.get("network", ())) + len(ll.get("unscoped", ())))
        g.size += W_DEVICE * len(body.get("udev") or []) + W_MODULE * len(body.get("kernel-modules") or [])
    return g


@lru_cache(maxsize=4096)
def _rules_of(text: str) -> tuple[str, ...]:
    """split_rules, remembered: every snap plugging an interface has the same snippet text."""
    return tuple(split_rules(text))


def _add_apparmor(g: Grants, text: str, variables: dict) -> None:
    for rule in _rules_of(text):
        words = rule.split()
        quals = []
        while words and words[0] in QUALIFIERS:
            quals.append(words.pop(0))
        if not words:
            continue
        deny = "deny" in quals
        head = words[0]
        rest = " ".join(words[1:])
        core = " ".join(words)
        if head == "capability":
            if deny:
                continue
            if rest:
                g.caps |= set(rest.replace(",", " ").split())
                g.size += W_CAPABILITY * len(rest.replace(",", " ").split())
            else:
                g.all_caps = True
                g.size += BLANKET
            continue
        if head == "network":
            if deny:
                continue
            toks = rest.split()
            if not toks:
                g.network.append((None, None, core))
                g.size += BLANKET
                continue
            fam = toks[0] if toks[0] not in NETWORK_TYPES else None
            typ = next((t for t in toks if t in NETWORK_TYPES), None)
            g.network.append((fam, typ, core))
            g.size += W_NETWORK
            continue
        if head == "dbus":
            if not deny:
                d = _kv(rest)
                d["access"] = _access(core)
                d["peer"] = _peer(d)
                d["text"] = core
                g.dbus.append(d)
                g.size += 1
            continue
        if head in ("signal", "ptrace", "unix", "mount", "umount", "remount", "pivot_root", "userns",
                    "change_profile", "mqueue", "io_uring"):
            if not deny:
                kv = _kv(rest)
                g.other.append({"class": "mount" if head in ("umount", "remount") else head, "op": head,
                                "access": _access(core), "peer": _peer(kv), "kv": kv, "text": core})
                g.size += W_NETWORK
            continue
        if head in ("file",) and not rest:
            g.files.append(FileRule(globs.compile_glob("/**"), "rwaxmlk", deny, core, "/**"))
            g.size += BLANKET
            continue
        if head == "file":
            words = words[1:]
            head = words[0] if words else ""
        if head in ("link", "include", "#include", "rlimit", "set", "profile", "hat", "^"):
            g.size += 1
            continue
        path, perms = None, None
        if len(words) >= 2 and FILE_PERMS.match(words[1]) and (words[0][:1] in "/@\"" or words[0].startswith("{")):
            path, perms = words[0], words[1]
        elif len(words) >= 2 and FILE_PERMS.match(words[0]) and words[1][:1] in "/@\"":
            perms, path = words[0], words[1]
        if path is None:
            g.size += 1
            continue
        path = path.strip('"')
        try:
            rx = globs.compile_glob(path, variables)
        except globs.GlobError:
            continue
        g.files.append(FileRule(rx, perms, deny, core, path))
        g.size += BLANKET if path in ("/**", "/{,**}", "@{HOME}/**") else (W_WRITE if set(perms) & set("wakl") else 1)


# ---- masks -----------------------------------------------------------------------------------

def covers(perms: str, letter: str) -> bool:
    """Whether an AppArmor rule's permissions cover one letter of a logged mask."""
    if letter in perms:
        return True
    if letter in "acd":                  # append, create, delete come with write
        return "w" in perms or (letter in "ac" and "a" in perms)
    if letter == "x":
        return "x" in perms
    return False


LANDLOCK_LETTERS = {      # `l` (list only, read_dir) is met by `l` or `r`
    "read_file": "r", "read_dir": "l", "execute": "x", "write_file": "w", "remove_dir": "w",
    "remove_file": "w", "make_dir": "w", "make_reg": "w", "make_sock": "w", "make_fifo": "w",
    "make_sym": "w", "refer": "w", "truncate": "w", "ioctl_dev": "w", "make_char": "", "make_block": "",
}
# For testing a Landlock denial against AppArmor rules: the mask each right needs.
LANDLOCK_AA = {
    "read_file": "r", "read_dir": "r", "execute": "x", "write_file": "w", "remove_dir": "w",
    "remove_file": "w", "make_dir": "w", "make_reg": "w", "make_sock": "w", "make_fifo": "w",
    "make_sym": "l", "refer": "l", "truncate": "w", "ioctl_dev": "w",
}
CREATES = {"make_dir", "make_reg", "make_sock", "make_fifo", "make_sym", "remove_dir", "remove_file", "refer"}


# ---- the suggester ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    interface: str
    certain: bool
    mechanism: str
    rule: str
    specificity: int


@lru_cache(maxsize=1)
def likely_arguments() -> dict[str, dict[int, tuple[int, ...]]]:
    """syscall -> argument index -> the values apps most often pass (data/syscalls.yaml)."""
    with open(DATA / "syscalls.yaml") as f:
        data = yaml.safe_load(f) or {}
    out: dict[str, dict[int, tuple[int, ...]]] = {}
    for group in data.get("restricted", []):
        for index, tokens in (group.get("likely") or {}).items():
            for name in group["syscalls"]:
                values = []
                for token in tokens:
                    rule = grammar.parse_line(f"{name} " + " ".join(["-"] * int(index) + [str(token)]), 1)
                    values.append(rule.args[0].value)
                out.setdefault(name, {})[int(index)] = tuple(values)
    return out


@lru_cache(maxsize=1)
def noise_table() -> list[dict]:
    with open(DATA / "noise.yaml") as f:
        return list((yaml.safe_load(f) or {}).get("noise", []))


class Suggester:
    """Suggestions for denials, from the catalogue and the state of one root.

    `backend` is a NativeBackend (or None: no state, every interface counts as
    not connected and no snap is known). The state is read again when it changed
    on disk, so suggestions follow `confine connect` made meanwhile.
    """

    def __init__(self, backend=None, catalogue=None, system_kind: str | None = None):
        self.backend = backend
        self.catalogue = catalogue if catalogue is not None else (
            backend.catalogue if backend is not None else load_catalogue())
        self.system_kind = system_kind or (backend.system_kind if backend is not None else "classic")
        self._stamp = None
        self._snaps: dict[str, Snap] = {}
        self._slots: dict[str, list] = {}
        self._connected: dict[tuple[str, str], set[str]] = {}
        self._grants: dict[tuple, Grants] = {}
        self._cache: dict[tuple, tuple] = {}
        self._path = str(Path(backend.root) / "state.json") if backend is not None else None
        self._refreshed = False
        self._checked = 0.0
        self._signature: tuple | None = None

    # ---- state ---------------------------------------------------------------------------------

    RECHECK = 0.05                         # seconds: how stale the view of the state may be

    def refresh(self) -> None:
        """Read the state again if it changed on disk (one stat(2), at most every RECHECK)."""
        now = time.monotonic()
        if self._refreshed and now - self._checked < self.RECHECK:
            return
        self._checked = now
        path = self._path
        try:
            st = os.stat(path) if path is not None else None
            stamp = (st.st_mtime_ns, st.st_ino, st.st_size) if st else None
        except OSError:
            stamp = None
        if stamp == self._stamp and self._refreshed:
            return
        self._refreshed = True
        self._stamp = stamp
        self._connected = {}
        self._cache.clear()
        snaps, system, conns = [], None, []
        if self.backend is not None and stamp is not None:
            try:
                snaps = self.backend.snaps()
                system = self.backend.system_snap()
                conns = self.backend.connections_state()
            except Exception:              # an unreadable state: suggest without it
                snaps, system, conns = [], None, []
        # what each interface would grant depends on the snaps and slots installed, not
        # on connections: keep it while those stay the same
        signature = tuple(sorted((s.name, s.revision, s.path) for s in snaps))
        if signature != self._signature:
            self._signature = signature
            self._grants.clear()
        self._snaps = {s.name: s for s in snaps}
        self._slots = {}
        if system is None:
            return
        for s in list(snaps) + [system]:
            for slot in s.slots.values():
                self._slots.setdefault(slot.interface, []).append(slot)
        for c in conns:
            if c.undesired:
                continue
            plug = c.plug
            snap = self._snaps.get(plug.snap)
            targets = list(plug.apps) + [f"hook.{h}" for h in plug.hooks]
            if snap is not None and not targets:
                targets = list(snap.apps)
            for t in targets:
                self._connected.setdefault((plug.snap, t), set()).add(c.interface)

    def snap(self, name: str | None) -> Snap | None:
        return self._snaps.get(name) if name else None

    def connected(self, snap: str | None, app: str | None) -> set[str]:
        if not snap:
            return set()
        if app:
            return set(self._connected.get((snap, app), set()))
        out: set[str] = set()
        for (s, _), names in self._connected.items():
            if s == snap:
                out |= names
        return out

    # ---- the policy each interface would add ---------------------------------------------------

    def grants(self, iface: Interface, snap: Snap | None, app: str | None = None) -> Grants:
        """What `iface` would grant to `snap` (its plug attributes, the installed slots).
        The same for every app of the snap (@{SNAP_COMMAND_NAME} matches any)."""
        key = (iface.name, snap.name if snap else None)
        g = self._grants.get(key)
        if g is not None:
            return g
        plugs = [p for p in (snap.plugs.values() if snap else ()) if p.interface == iface.name]
        plug_attr_sets = []
        for p in plugs:
            plug_attr_sets.append(expand_snap_paths(p.attrs, iface.plug_attributes, snap))
        if not plug_attr_sets:
            attrs, _problems = validate_attributes(iface, "plug", {}, name=iface.name)
            plug_attr_sets.append(attrs)
        slot_attr_sets = []
        for slot in self._slots.get(iface.name, []):
            owner = self._snaps.get(slot.snap)
            slot_attr_sets.append(expand_snap_paths(slot.attrs, iface.slot_attributes, owner))
        if not slot_attr_sets:
            attrs, _problems = validate_attributes(iface, "slot", {}, name=iface.name)
            slot_attr_sets.append(attrs)
        bodies = []
        seen = set()
        for pa in plug_attr_sets:
            for sa in slot_attr_sets:
                for side in ("connected-plug", "permanent-plug"):
                    try:
                        selected = select_snippets(iface, side, pa, sa, self.system_kind)
                    except Exception:
                        continue
                    for body in selected:
                        k = repr(sorted(body.items(), key=lambda kv: kv[0]))
                        if k not in seen:
                            seen.add(k)
                            bodies.append(body)
        g = build_grants(iface, bodies, _Vars.of(snap, None))
        self._grants[key] = g
        return g

    # ---- matching ------------------------------------------------------------------------------

    def matches(self, d: Denial, g: Grants) -> Match | None:
        kind = d.kind
        if kind == "seccomp":
            return self._match_seccomp(d, g)
        if kind == "landlock":
            return self._match_landlock(d, g)
        if kind in ("apparmor", "dbus"):
            return self._match_apparmor(d, g)
        return None

    @staticmethod
    def _args(d: Denial) -> dict[int, int]:
        out = {}
        f = d.fields or {}
        for i in range(6):
            for key in (f"a{i}", f"SYSCALL.a{i}"):
                v = f.get(key)
                if v is None:
                    continue
                try:
                    out[i] = int(str(v), 16)
                except ValueError:
                    pass
                break
        return out

    def _match_seccomp(self, d: Denial, g: Grants) -> Match | None:
        name = d.syscall
        if not name:
            return None
        if g.unrestricted:
            best = Match(g.interface.name, True, "seccomp", "@unrestricted", 0)
        else:
            best = None
        args = self._args(d)
        likely = likely_arguments().get(name, {})
        for rule in g.seccomp:
            if rule.syscall != name:
                continue
            certain = True
            checked = 0
            ok = True
            guessed = False
            for cond in rule.args:
                if cond.index in args:
                    checked += 1
                    if not cond.matches(args[cond.index]):
                        ok = False
                        break
                else:
                    certain = False
                    if any(cond.matches(v) for v in likely.get(cond.index, ())):
                        guessed = True
            if not ok:
                continue
            # arguments not logged: a line accepting what apps most often pass ranks higher
            spec = 10 + checked + (5 if guessed and not certain else 0)
            m = Match(g.interface.name, certain, "seccomp", rule.text or grammar.format_rule(rule), spec)
            if best is None or (m.certain, m.specificity) > (best.certain, best.specificity):
                best = m
        return best

    def _file_match(self, g: Grants, path: str, letters: str) -> FileRule | None:
        if not path or not letters:
            return None
        best = None
        for rule in g.files:
            if rule.deny:
                continue
            if not all(covers(rule.perms, c) for c in letters):
                continue
            if rule.regex.match(path) is None:
                continue
            if best is None or globs.literal_length(rule.pattern) > globs.literal_length(best.pattern):
                best = rule
        if best is None:
            return None
        for rule in g.files:                 # a deny rule of the same interface wins
            if rule.deny and any(covers(rule.perms, c) for c in letters) and rule.regex.match(path):
                return None
        return best

    def _match_apparmor(self, d: Denial, g: Grants) -> Match | None:
        cls = (d.cls or "").lower()
        f = d.fields or {}
        mask = (d.denied or d.requested or "").strip()
        if d.capability or cls == "capability":
            cap = (d.capability or f.get("capname") or "").lower()
            if g.all_caps:
                return Match(g.interface.name, True, "apparmor", "capability,", 0)
            if cap and cap in g.caps:
                return Match(g.interface.name, True, "apparmor", f"capability {cap},", 10)
            return None
        if cls == "network" or (d.family and cls in ("", "net")):
            fam = (d.family or f.get("family") or "").lower()
            typ = (f.get("sock_type") or "").lower()
            best = None
            for rfam, rtyp, text in g.network:
                if rfam is not None and rfam != fam:
                    continue
                if rtyp is not None and typ and rtyp != typ:
                    continue
                spec = (rfam is not None) * 5 + (rtyp is not None) * 3
                if best is None or spec > best.specificity:
                    best = Match(g.interface.name, True, "apparmor", text + ",", spec)
            return best
        if kind_is_dbus(d) or cls == "dbus":
            return self._match_dbus(d, g)
        if cls in ("signal", "ptrace", "unix", "mount", "userns", "pivot_root", "change_profile", "mqueue",
                   "io_uring"):
            return self._match_other(d, g, cls)
        # a file access
        path = d.name or f.get("name")
        letters = "".join(c for c in mask if c.isalpha())
        if not path:
            return None
        rule = self._file_match(g, path, letters)
        if rule is None:
            return None
        return Match(g.interface.name, True, "apparmor", rule.text + ",", globs.literal_length(rule.pattern))

    def _match_dbus(self, d: Denial, g: Grants) -> Match | None:
        f = d.fields or {}
        want = {"bus": f.get("bus"), "path": f.get("path"), "interface": f.get("interface"),
                "member": f.get("member")}
        access = (d.denied or d.requested or f.get("mask") or "").strip() or None
        dest = f.get("name") or f.get("dest")
        best = None
        for r in g.dbus:
            acc = r.get("access")
            if access and acc is not None and access not in acc and not ("send" in acc and access == "send"):
                continue
            ok = True
            spec = 0
            for k, v in want.items():
                rv = r.get(k)
                if rv is None:
                    continue
                if v is None or not globs.match(rv, v):
                    ok = False
                    break
                spec += globs.literal_length(rv)
            if not ok:
                continue
            peer_name = (r.get("peer") or {}).get("name")
            if peer_name and dest and not globs.match(peer_name, dest):
                continue
            if best is None or spec > best.specificity:
                best = Match(g.interface.name, True, "apparmor", r["text"] + ",", spec)
        return best

    def _match_other(self, d: Denial, g: Grants, cls: str) -> Match | None:
        f = d.fields or {}
        access = (d.denied or d.requested or "").split()
        peer = f.get("peer") or f.get("peer_label") or f.get("target")
        best = None
        for r in g.other:
            if r["class"] != cls:
                continue
            acc = r.get("access")
            if acc is not None and access and not all(a in acc for a in access):
                continue
            label = (r.get("peer") or {}).get("label")
            spec = 1
            if label and peer:
                if not globs.match(label.strip('"'), peer):
                    continue
                spec += globs.literal_length(label)
            if cls == "signal":
                sigs = r["kv"].get("set")
                sig = f.get("signal")
                if sigs and sig:
                    names = {s.strip('"') for s in re.split(r"[\s,()]+", sigs) if s}
                    if sig not in names:
                        continue
                    spec += 2
            if best is None or spec > best.specificity:
                best = Match(g.interface.name, True, "apparmor", r["text"] + ",", spec)
        return best

    def _landlock_blockers(self, d: Denial) -> list[str]:
        f = d.fields or {}
        text = f.get("blockers") or d.operation or d.denied or ""
        return [b.strip() for b in text.split(",") if b.strip()]

    def _match_landlock(self, d: Denial, g: Grants) -> Match | None:
        f = d.fields or {}
        blockers = self._landlock_blockers(d)
        if not blockers:
            return None
        fs = [b.split(".", 1)[1] for b in blockers if b.startswith("fs.")]
        net = [b.split(".", 1)[1] for b in blockers if b.startswith("net.")]
        scope = [b.split(".", 1)[1] for b in blockers if b.startswith("scope.")]
        # the fewer rights the interface lifts besides the one needed, the more specific
        if net:
            need = {("bind" if "bind" in n else "connect") for n in net}
            if need <= g.ll_net:
                return Match(g.interface.name, True, "landlock", "landlock: network: " + ", ".join(sorted(g.ll_net)),
                             10 - 5 * len(g.ll_net - need))
            return None
        if scope:
            need = {("abstract-unix-socket" if "unix" in s else "signal") for s in scope}
            if need <= g.ll_unscoped:
                return Match(g.interface.name, True, "landlock",
                             "landlock: unscoped: " + ", ".join(sorted(g.ll_unscoped)),
                             10 - 5 * len(g.ll_unscoped - need))
            return None
        if not fs:
            return None
        path = d.name or f.get("path")
        if not path:
            return None
        letters = "".join(sorted({LANDLOCK_LETTERS.get(r, "?") for r in fs}))
        if any(r in ("make_char", "make_block") for r in fs):
            return None                          # device nodes: no interface creates them
        best = None
        if letters and "?" not in letters:
            for rx, access, written in g.fs:
                if not all(c in access or (c == "l" and "r" in access) for c in letters):
                    continue
                if rx.match(path) is None and rx.match(path.rstrip("/") + "/") is None:
                    continue
                spec = globs.literal_length(written)
                if best is None or spec > best.specificity:
                    best = Match(g.interface.name, True, "landlock", f"filesystem: {written} ({access})", spec)
        if best is not None:
            return best
        # the AppArmor rules of the same interface: what it means to allow, where Landlock
        # has no rule that names this path exactly (e.g. a directory listed itself)
        aa_letters = "".join(sorted({LANDLOCK_AA.get(r, "") for r in fs}))
        candidates = []
        if any(r == "read_dir" for r in fs) or any(r in CREATES for r in fs):
            candidates.append(path.rstrip("/") + "/")
        if any(r in CREATES for r in fs):
            candidates.append(path.rstrip("/") + "/x")
        if not candidates or any(r in ("read_file", "write_file", "execute", "truncate", "ioctl_dev") for r in fs):
            candidates.append(path)
        for p in candidates:
            rule = self._file_match(g, p, aa_letters)
            if rule is not None:
                return Match(g.interface.name, False, "apparmor", rule.text + ",", globs.literal_length(rule.pattern))
        return None

    # ---- the answer ----------------------------------------------------------------------------

    KEY_FIELDS = ("blockers", "path", "sock_type", "bus", "interface", "member", "signal", "peer", "peer_label",
                  "mask", "dest", "name", "a0", "a1", "a2", "a3", "SYSCALL.a0", "SYSCALL.a1", "SYSCALL.a2",
                  "SYSCALL.a3")

    def key(self, d: Denial, snap: str | None = None, app: str | None = None) -> tuple:
        """What the suggestions for `d` depend on (the snap and app may be given apart, for a
        record being placed)."""
        f = d.fields or {}
        get = f.get
        return (d.kind, d.cls, snap or d.snap, app or d.app, d.operation, d.name, d.denied, d.requested,
                d.capability, d.family, d.syscall, d.mode, tuple(get(k) for k in self.KEY_FIELDS))

    def suggest(self, d: Denial) -> tuple[Suggestion, ...]:
        """The suggestions for `d`, best first (see the module's docstring)."""
        return self.suggest_full(d)[0]

    def already_connected(self, d: Denial) -> list[str]:
        """Interfaces connected to the app that would allow `d` (a stale profile, or a
        grant coarser in one layer than in another)."""
        return list(self.suggest_full(d)[1])

    def suggest_full(self, d: Denial, key: tuple | None = None) -> tuple[tuple[Suggestion, ...], tuple[str, ...]]:
        """(suggestions, interfaces already connected that would allow it)."""
        if d.kind == "unparsed":
            return (), ()
        self.refresh()
        key = key or self.key(d)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        hit = self._suggest(d)
        if len(self._cache) > 20000:
            self._cache.clear()
        self._cache[key] = hit
        return hit

    def _suggest(self, d: Denial) -> tuple[tuple[Suggestion, ...], tuple[str, ...]]:
        snap = self.snap(d.snap)
        app = d.app
        connected = self.connected(d.snap, app)
        ranked = []
        already = []
        for iface in self.catalogue.values():
            g = self.grants(iface, snap, app)
            m = self.matches(d, g)
            if m is None:
                continue
            if iface.name in connected:
                already.append(iface.name)
                continue
            s = self._make(d, iface, snap, app, m)
            declared = s.action in ("connect", "bind")
            ranked.append(((not declared, iface.super_privileged, not m.certain, -m.specificity, g.size,
                            iface.name), s))
        ranked.sort(key=lambda item: item[0])
        out = [s for _, s in ranked]
        harmless = noise_reason(d)
        if harmless:
            out.append(Suggestion(None, "ignore", note=f"likely harmless: {harmless}"))
        return tuple(out), tuple(sorted(already))

    def _make(self, d: Denial, iface: Interface, snap: Snap | None, app: str | None, m: Match) -> Suggestion:
        name = iface.name
        note = []
        command = plug_ref = slot_ref = None
        if m.certain is False and m.mechanism == "seccomp":
            note.append("may allow: its rule checks arguments the record does not log")
        elif m.certain is False:
            note.append("allowed by its AppArmor rules; its Landlock rules name no path for it")
        if iface.super_privileged:
            note.append("super-privileged (see `confine interface " + name + "`)")
        slots = self._slots.get(name, [])
        slot = next((s for s in slots if s.snap == SYSTEM_SNAP), slots[0] if slots else None)
        if slot is not None:
            slot_ref = slot.ref
        if snap is None:
            action = "declare"
            who = d.snap or "the snap"
            note.append(f"{who} is not installed here" if d.snap else "the record names no snap")
        else:
            plugs = sorted((p for p in snap.plugs.values() if p.interface == name), key=lambda p: p.name)
            if not plugs:
                action = "declare"
                note.append(f"{snap.name} has no plug of {name}: its snap.yaml would need one (plugs: [{name}])")
            else:
                bound = [p for p in plugs if _bound(p, app)]
                plug = bound[0] if bound else plugs[0]
                plug_ref = plug.ref
                if slot is None:
                    note.append(f"no installed snap offers a slot of {name}")
                if bound:
                    action = "connect"
                    if slot is not None:
                        command = f"confine connect {plug.ref}" + ("" if slot.snap == SYSTEM_SNAP else f" {slot.ref}")
                else:
                    action = "bind"
                    connected_elsewhere = any(name in names for (s, _a), names in self._connected.items()
                                              if s == snap.name)
                    note.append(f"the plug {plug.ref} is not bound to {app or 'this app'}: its snap.yaml would "
                                f"need {name} in apps.{app}.plugs" + (" (the plug is connected for other apps)"
                                                                      if connected_elsewhere else ""))
                    if slot is not None and not connected_elsewhere:
                        command = f"confine connect {plug.ref}" + ("" if slot.snap == SYSTEM_SNAP else f" {slot.ref}")
        return Suggestion(name, action, command, plug_ref, slot_ref, iface.super_privileged, m.certain,
                          m.mechanism, m.rule, "; ".join(note))


def _bound(plug, app: str | None) -> bool:
    if not app:
        return True
    if app.startswith("hook."):
        return app[5:] in plug.hooks
    return app in plug.apps


def kind_is_dbus(d: Denial) -> bool:
    return d.kind == "dbus"


def noise_reason(d: Denial) -> str | None:
    """The reason a denial is known noise, or None."""
    for n in noise_table():
        if n.get("kind") != d.kind:
            continue
        if "syscall" in n:
            if d.syscall == n["syscall"]:
                return n["reason"]
            continue
        if "capability" in n:
            if (d.capability or "").lower() == n["capability"]:
                return n["reason"]
            continue
        if "path" in n:
            path = d.name or (d.fields or {}).get("path")
            if not path or not globs.match(n["path"], path):
                continue
            want = n.get("access")
            if want:
                if d.kind == "landlock":
                    blockers = [(b.split(".", 1) + [""])[1] for b in
                                ((d.fields or {}).get("blockers") or d.operation or "").split(",")]
                    have = "".join({LANDLOCK_LETTERS.get(b, "").replace("l", "r") for b in blockers})  # as AppArmor says it
                else:
                    have = d.denied or d.requested or ""
                if not have or not all(covers(want, c) for c in have if c.isalpha()):
                    continue
            return n["reason"]
    return None


__all__ = ["Suggester", "Suggestion", "Grants", "build_grants", "split_rules", "covers", "noise_reason"]
