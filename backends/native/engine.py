"""The native engine: install and remove snaps, connect and disconnect interfaces.

Every change is one transaction on the state store (see state.py): the state is
read under the lock, changed in memory, checked, handed to the change hooks, and
written only if all of that succeeded. Later stages (profile generation) register a
hook in `change_hooks`: it is the one place where they learn what changed.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..errors import ConfineError, NotFoundError, PrivilegeError, RefusedError, UsageError
from ..model import (SYSTEM_SNAP, Candidate, Connection, ConnectionRow, InstallResult, Interface, Plug,
                     Refusal, Slot, Snap)
from . import names, policy
from .interfaces.catalogue import Catalogue, load_catalogue
from .manifest import read_manifest, snap_from_record
from .state import StateStore

EXAMPLES_DIR = Path(__file__).with_name("examples")
SYSTEM_ROOT = Path("/var/lib/confine")
SYSTEM_KINDS = ("classic", "core")


def default_root() -> Path:
    """`CONFINE_ROOT`, else /var/lib/confine for root, else $XDG_DATA_HOME/confine."""
    env = os.environ.get("CONFINE_ROOT")
    if env:
        return Path(env)
    if os.geteuid() == 0:
        return SYSTEM_ROOT
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data_home) / "confine"


@dataclass
class Change:
    """What a transaction changed, as the change hooks see it."""

    operation: str                    # install, remove, connect, disconnect
    state: dict                       # the state about to be written (may be amended)
    affected: set[str] = field(default_factory=set)   # snaps whose profiles may change
    removed: set[str] = field(default_factory=set)    # snaps that are gone
    # run once the new state is on disk, still under the lock (clean-ups, loading)
    after_write: list[Callable[[], None]] = field(default_factory=list)


class _DryRun(Exception):
    """Raised inside a transaction to discard it after computing its preview."""

    def __init__(self, preview):
        super().__init__("dry run")
        self.preview = preview


ChangeHook = Callable[["NativeBackend", Change], None]


def _rmdir_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


def conn_key(plug_snap: str, plug: str, slot_snap: str, slot: str) -> str:
    return f"{plug_snap}:{plug} {slot_snap}:{slot}"


def split_key(key: str) -> tuple[str, str, str, str]:
    plug, slot = key.split(" ")
    ps, pn = plug.split(":")
    ss, sn = slot.split(":")
    return ps, pn, ss, sn


def parse_ref(ref: str, what: str) -> tuple[str, str | None]:
    """`snap:name`, `snap` or `:name` (the system snap) -> (snap, name or None)."""
    if not isinstance(ref, str) or not ref or ref.count(":") > 1:
        raise UsageError(f"invalid {what} {ref!r}: expected SNAP:NAME, SNAP or :NAME")
    snap, sep, name = ref.partition(":")
    snap = snap or SYSTEM_SNAP
    if snap != SYSTEM_SNAP and names.check_snap_name(snap):
        raise UsageError(f"invalid {what} {ref!r}: {names.check_snap_name(snap)}")
    if sep and names.check_plug_name(name):
        raise UsageError(f"invalid {what} {ref!r}: {names.check_plug_name(name)}")
    return snap, (name if sep else None)


class _View:
    """The snaps of one state, built once per operation."""

    def __init__(self, backend: "NativeBackend", state: dict):
        self.backend = backend
        self.state = state
        self.snaps: dict[str, Snap] = {}
        for name, rec in state["snaps"].items():
            self.snaps[name] = snap_from_record(rec["manifest"], revision=rec["revision"], path=rec["path"],
                                                example=rec.get("example", False), grants=tuple(rec.get("grants", ())))
        self.snaps[SYSTEM_SNAP] = backend.system_snap()
        self.memo: dict = {}           # results computed from this view (shared views only)

    def snap(self, name: str) -> Snap:
        try:
            return self.snaps[name]
        except KeyError:
            raise NotFoundError(f"snap {name!r} is not installed") from None

    def snap_type(self, name: str) -> str:
        return "core" if name == SYSTEM_SNAP else self.snaps[name].type

    def slots_of(self, interface: str) -> list[Slot]:
        return [s for snap in self.snaps.values() for s in snap.slots.values() if s.interface == interface]

    def plug(self, snap: str, name: str) -> Plug:
        s = self.snap(snap)
        if name not in s.plugs:
            raise NotFoundError(f"snap {snap!r} has no plug named {name!r}")
        return s.plugs[name]

    def slot(self, snap: str, name: str) -> Slot:
        s = self.snap(snap)
        if name not in s.slots:
            who = "the system" if snap == SYSTEM_SNAP else f"snap {snap!r}"
            raise NotFoundError(f"{who} has no slot named {name!r}")
        return s.slots[name]

    def connection(self, key: str, rec: dict) -> Connection | None:
        ps, pn, ss, sn = split_key(key)
        plug = self.snaps.get(ps) and self.snaps[ps].plugs.get(pn)
        slot = self.snaps.get(ss) and self.snaps[ss].slots.get(sn)
        if not plug or not slot:
            return None
        return Connection(rec["interface"], plug, slot, auto=rec.get("auto", False),
                          undesired=rec.get("undesired", False), granted=rec.get("granted", False))


class NativeBackend:
    """The engine of this project, over a root directory of state."""

    def __init__(self, root: str | os.PathLike | None = None, *, system_kind: str | None = None,
                 catalogue: Catalogue | None = None, require_root: bool = True, profiles: bool = True,
                 host: bool | None = None):
        """`profiles=False` keeps only the state (no profile generation: for tests of
        the state machinery). `host`: install and load profiles into this machine
        (udev rules, kernel modules, AppArmor where the kernel has it); default: only
        for the system root /var/lib/confine, or when CONFINE_HOST=1."""
        self.root = Path(root) if root is not None else default_root()
        self.store = StateStore(self.root)
        kind = system_kind or os.environ.get("CONFINE_SYSTEM_KIND", "classic")
        if kind not in SYSTEM_KINDS:
            raise UsageError(f"system kind must be classic or core, not {kind!r}")
        self.system_kind = kind
        self._catalogue = catalogue
        self.require_root = require_root
        self.change_hooks: list[ChangeHook] = []
        self._read_lock = threading.RLock()
        self._shared_view: _View | None = None
        if host is None:
            host = os.environ.get("CONFINE_HOST") == "1" or self.root == SYSTEM_ROOT
        self.host = host
        from .profiles.manager import ProfileManager

        self.profiles = ProfileManager(self)
        if profiles:
            self.change_hooks.append(self.profiles.on_change)

    # ---- reading ---------------------------------------------------------------

    @property
    def catalogue(self) -> Catalogue:
        if self._catalogue is None:
            with self._read_lock:       # workers asking at once load it once
                if self._catalogue is None:
                    self._catalogue = load_catalogue()
        return self._catalogue

    @property
    def on_classic(self) -> bool:
        return self.system_kind == "classic"

    def system_snap(self) -> Snap:
        """The implicit `system` snap, carrying the host's slots for this kind of system."""
        slots = {}
        for iface in self.catalogue.values():
            if iface.implicit_on_classic if self.on_classic else iface.implicit_on_core:
                slots[iface.name] = Slot(SYSTEM_SNAP, iface.name, iface.name)
        return Snap(name=SYSTEM_SNAP, version="-", summary="the host system", type="core", slots=slots)

    def _view(self, state: dict | None = None) -> _View:
        """A view of `state` (to change), or of the state on disk (to read only: shared
        between callers while the file is unchanged, see StateStore.read_shared)."""
        if state is not None:
            return _View(self, state)
        with self._read_lock:
            shared = self.store.read_shared()
            view = self._shared_view
            if view is None or view.state is not shared:
                view = self._shared_view = _View(self, shared)
            return view

    def _memo(self, view: _View, key, compute: Callable[[], list]) -> list:
        """`compute()` once per shared view (a read of an unchanged state is free); a
        new list each call, so that a caller may sort or extend what it gets."""
        if view is not self._shared_view:
            return compute()
        with self._read_lock:
            found = view.memo.get(key)
            if found is None:
                found = view.memo[key] = compute()
        return list(found)

    def snaps(self) -> list[Snap]:
        view = self._view()
        return self._memo(view, "snaps", lambda: [view.snaps[n] for n in sorted(view.snaps) if n != SYSTEM_SNAP])

    def snap(self, name: str) -> Snap:
        return self._view().snap(name)

    def interfaces(self) -> list[Interface]:
        return list(self.catalogue.values())

    def interface(self, name: str) -> Interface:
        iface = self.catalogue.get(name)
        if iface is None:
            raise NotFoundError(f"no interface named {name!r} (see `confine interface --all`)")
        return iface

    def interface_users(self, name: str) -> tuple[list[Plug], list[Slot]]:
        """The plugs and slots of `name` among installed snaps and the system."""
        self.interface(name)
        view = self._view()
        plugs = [p for s in view.snaps.values() for p in s.plugs.values() if p.interface == name]
        slots = [p for s in view.snaps.values() for p in s.slots.values() if p.interface == name]
        key = lambda e: (e.snap != SYSTEM_SNAP, e.snap, e.name)  # noqa: E731
        return sorted(plugs, key=key), sorted(slots, key=key)

    def connections_state(self) -> list[Connection]:
        """Every connection and undesired former auto-connection in the state."""
        view = self._view()

        def compute() -> list[Connection]:
            out = []
            for key, rec in view.state["conns"].items():
                c = view.connection(key, rec)
                if c is not None:
                    out.append(c)
            return out

        return self._memo(view, "connections_state", compute)

    def connections(self, snap: str | None = None, all: bool = False) -> list[ConnectionRow]:
        """Rows as `snap connections` shows them.

        No snap: the connections of every snap, plus (with all=True) every unconnected
        plug and slot. With a snap: its connections and its unconnected plugs and slots.
        Undesired former auto-connections show with note "undesired".
        """
        view = self._view()
        if snap is not None:
            view.snap(snap)
        return self._memo(view, ("connections", snap, bool(all)), lambda: self._connection_rows(view, snap, all))

    @staticmethod
    def _connection_rows(view: _View, snap: str | None, all: bool) -> list[ConnectionRow]:
        rows: list[ConnectionRow] = []
        connected_plugs: set[tuple[str, str]] = set()
        connected_slots: set[tuple[str, str]] = set()
        for key, rec in view.state["conns"].items():
            ps, pn, ss, sn = split_key(key)
            if snap is not None and snap not in (ps, ss):
                continue
            undesired = rec.get("undesired", False)
            connected_plugs.add((ps, pn))  # an undesired row already shows this plug
            if not undesired:
                connected_slots.add((ss, sn))
            slot_ref = f":{sn}" if ss == SYSTEM_SNAP else f"{ss}:{sn}"
            rows.append(ConnectionRow(rec["interface"], f"{ps}:{pn}", slot_ref, manual=not rec.get("auto", False),
                                      auto=rec.get("auto", False), undesired=undesired,
                                      granted=rec.get("granted", False)))
        if snap is not None or all:
            for s in view.snaps.values():
                if snap is not None and s.name != snap:
                    continue
                for p in s.plugs.values():
                    if (s.name, p.name) not in connected_plugs:
                        rows.append(ConnectionRow(p.interface, p.ref, None))
                for sl in s.slots.values():
                    if (s.name, sl.name) not in connected_slots:
                        if snap is None and s.name == SYSTEM_SNAP and not all:
                            continue
                        rows.append(ConnectionRow(sl.interface, None, sl.ref))
        rows.sort(key=lambda r: (r.interface, r.plug or "", r.slot or ""))
        return rows

    def doctor(self):
        from . import doctor
        return doctor.probe()

    # ---- changing --------------------------------------------------------------

    def _check_root(self) -> None:
        if self.require_root and os.geteuid() != 0:
            raise PrivilegeError("changing confine's state needs root (run it with sudo); nothing was changed")

    @contextmanager
    def _transaction(self, operation: str, dry_run: bool = False) -> Iterator[Change]:
        """One locked read-modify-write of the state, with the change hooks at its end.

        dry_run: nothing is written; `_DryRun` carries the profile diff the change
        would make.
        """
        after: list[Callable[[], None]] = []
        with self.store.transaction(after_write=after) as state:
            change = Change(operation, state, after_write=after)
            yield change
            change.affected.discard(SYSTEM_SNAP)
            change.affected -= change.removed
            if dry_run:
                raise _DryRun(self.profiles.preview_change(self.store.read(), change))
            for hook in self.change_hooks:
                hook(self, change)

    def _grants_for(self, view: _View, snap: str) -> set[str]:
        rec = view.state["snaps"].get(snap)
        return set(rec.get("grants", ())) if rec else set()

    def _decide_connection(self, view: _View, plug: Plug, slot: Slot, auto: bool) -> policy.Decision:
        iface = self.interface(plug.interface)
        return policy.check_connection(iface, policy.side_of(plug, view.snap_type(plug.snap)),
                                       policy.side_of(slot, view.snap_type(slot.snap)), self.on_classic, auto=auto)

    def _check_install(self, snap: Snap, grants: set[str]) -> list[Refusal]:
        refusals = []
        for kind, ends in (("plug", snap.plugs.values()), ("slot", snap.slots.values())):
            for end in ends:
                iface = self.interface(end.interface)
                d = policy.check_installation(iface, kind, policy.side_of(end, snap.type), self.on_classic)
                if not d.allowed and end.interface not in grants:
                    refusals.append(Refusal(f"{snap.name}:{end.name}", d.reason, d.rule))
        return refusals

    def _auto_connect(self, view: _View, snap: Snap) -> tuple[list[Connection], list[Refusal]]:
        """Connect what policy lets connect by itself, where exactly one candidate exists."""
        conns = view.state["conns"]
        made: list[Connection] = []
        skipped: list[Refusal] = []
        busy_plugs = {tuple(k.split(" ")[0].split(":")) for k, r in conns.items() if not r.get("undesired")}

        def candidates(plug: Plug) -> tuple[list[Slot], list[policy.Decision]]:
            ok, refused = [], []
            for slot in view.slots_of(plug.interface):
                d = self._decide_connection(view, plug, slot, auto=True)
                (ok if d.allowed else refused).append(slot if d.allowed else d)
            return ok, refused

        def attach(plug: Plug, slot: Slot) -> None:
            key = conn_key(plug.snap, plug.name, slot.snap, slot.name)
            if conns.get(key, {}).get("undesired"):
                skipped.append(Refusal(plug.ref, f"not reconnected to {slot.ref}: disconnected by the admin "
                                                  f"(undesired; `confine connect {plug.ref} {slot.ref}` restores it)", "undesired"))
                return
            conns[key] = {"interface": plug.interface, "auto": True, "undesired": False, "granted": False,
                          "plug-static": plug.attrs, "slot-static": slot.attrs}
            busy_plugs.add((plug.snap, plug.name))
            made.append(Connection(plug.interface, plug, slot, auto=True))

        for plug in snap.plugs.values():
            if (plug.snap, plug.name) in busy_plugs:
                continue
            ok, refused = candidates(plug)
            if len(ok) == 1:
                attach(plug, ok[0])
            elif len(ok) > 1:
                skipped.append(Refusal(plug.ref, f"{len(ok)} candidate slots ({', '.join(s.ref for s in ok)}): "
                                                 "connect one by hand", "several-candidates"))
            elif refused:
                skipped.append(Refusal(plug.ref, refused[0].reason, refused[0].rule))
            else:
                skipped.append(Refusal(plug.ref, f"no {plug.interface} slot to connect to", "no-candidate"))
        # The new snap's slots may be the one candidate of other snaps' waiting plugs.
        for slot in snap.slots.values():
            for other in view.snaps.values():
                if other.name == snap.name:
                    continue
                for plug in other.plugs.values():
                    if plug.interface != slot.interface or (plug.snap, plug.name) in busy_plugs:
                        continue
                    ok, _ = candidates(plug)
                    if len(ok) == 1 and ok[0] == slot:
                        attach(plug, slot)
        return made, skipped

    def _install_into(self, state: dict, change: Change, source: Path, grants: Iterable[str],
                      example: bool, staged: list[Path]) -> InstallResult:
        manifest = read_manifest(source, self.catalogue)
        name = manifest["name"]
        grants = set(grants)
        for g in sorted(grants):
            self.interface(g)
        old = state["snaps"].get(name)
        if old:
            grants |= set(old.get("grants", ()))
        candidate = snap_from_record(manifest)
        refusals = self._check_install(candidate, grants)
        if refusals:
            first = refusals[0]
            hints = " ".join(f"--grant {i}" for i in sorted({self._iface_of(candidate, r.what) for r in refusals}))
            raise RefusedError(f"cannot install {name!r}: " + "; ".join(f"{r.what}: {r.reason}" for r in refusals)
                               + f". An admin may allow it with `confine install {hints} ...`", first.rule)
        number = state["revisions"].get(name, 0) + 1
        revision = f"x{number}"
        target = self.root / "snaps" / name / revision
        if target.exists():  # left by an install that was killed before it committed
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        for stale in target.parent.glob(".x*"):  # copies of installs that were killed
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{revision}.", dir=target.parent))
        staged.append(target)
        try:
            shutil.copytree(source, tmp, symlinks=True, dirs_exist_ok=True)
            os.chmod(tmp, 0o755)
            os.rename(tmp, target)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise ConfineError(f"cannot copy {source} into {target.parent}: {exc.strerror or exc}") from None
        state["revisions"][name] = number
        state["snaps"][name] = {"manifest": manifest, "revision": revision, "path": str(target),
                                "example": bool(example) or bool(old and old.get("example")),
                                "grants": sorted(grants)}
        if old:  # a refresh: keep connections whose plug and slot still exist
            for key in list(state["conns"]):
                ps, pn, ss, sn = split_key(key)
                if (ps == name and pn not in manifest["plugs"]) or (ss == name and sn not in manifest["slots"]):
                    del state["conns"][key]
                elif ps == name:
                    state["conns"][key]["plug-static"] = manifest["plugs"][pn]["attrs"]
                elif ss == name:
                    state["conns"][key]["slot-static"] = manifest["slots"][sn]["attrs"]
        view = self._view(state)
        snap = view.snap(name)
        made, skipped = self._auto_connect(view, snap)
        change.affected |= {name} | {c.plug.snap for c in made} | {c.slot.snap for c in made}
        for key in state["conns"]:
            ps, _, ss, _ = split_key(key)
            if name in (ps, ss):
                change.affected |= {ps, ss}
        return InstallResult(snap, tuple(made), tuple(skipped), tuple(sorted(grants)))

    def _iface_of(self, snap: Snap, ref: str) -> str:
        end = ref.split(":", 1)[1]
        e = snap.plugs.get(end) or snap.slots.get(end)
        return e.interface if e else end

    def _run_install(self, operation: str, sources: list[tuple[Path, Iterable[str], bool]]) -> list[InstallResult]:
        self._check_root()
        staged: list[Path] = []
        done = False
        try:
            with self._transaction(operation) as change:
                state = change.state
                before = {n: r["path"] for n, r in state["snaps"].items()}
                results = [self._install_into(state, change, src, grants, example, staged)
                           for src, grants, example in sources]
                for name, path in before.items():  # the previous revision of a refreshed snap
                    if state["snaps"][name]["path"] != path:
                        change.after_write.append(lambda p=path: shutil.rmtree(p, ignore_errors=True))
            done = True
        finally:
            if not done:
                for path in staged:
                    shutil.rmtree(path, ignore_errors=True)
        return results

    def install(self, path: str | os.PathLike, grants: Iterable[str] = (), example: bool = False) -> InstallResult:
        """Install the snap in directory `path` (holding meta/snap.yaml)."""
        return self._run_install("install", [(Path(path), tuple(grants), example)])[0]

    def example_dirs(self) -> list[Path]:
        return sorted(p for p in EXAMPLES_DIR.iterdir() if (p / "meta" / "snap.yaml").is_file())

    def install_examples(self, grants: Iterable[str] = ()) -> list[InstallResult]:
        """Install every bundled example in one transaction.

        Examples that plug interfaces refused at installation (docker-support,
        multipass-support) are granted them, and the result says so.
        """
        sources = []
        for d in self.example_dirs():
            snap = snap_from_record(read_manifest(d, self.catalogue))
            needed = {self._iface_of(snap, r.what) for r in self._check_install(snap, set())}
            sources.append((d, tuple(set(grants) | needed), True))
        # Slot providers first, so that their consumers find a slot when they install.
        sources.sort(key=lambda s: (not snap_from_record(read_manifest(s[0], self.catalogue)).slots, s[0].name))
        return self._run_install("install", sources)

    def remove(self, name: str) -> Snap:
        """Remove a snap and every connection of its plugs and slots."""
        self._check_root()
        if name == SYSTEM_SNAP:
            raise RefusedError("the system snap cannot be removed", "system-snap")
        with self._transaction("remove") as change:
            state = change.state
            view = self._view(state)
            snap = view.snap(name)
            change.removed.add(name)
            path = Path(state["snaps"][name]["path"])
            # Delete only the removed revision, under the lock: a concurrent install of
            # the same name waits for the lock and then makes a new revision.
            change.after_write.append(lambda: shutil.rmtree(path, ignore_errors=True))
            change.after_write.append(lambda: _rmdir_if_empty(path.parent))
            for key in list(state["conns"]):
                ps, _, ss, _ = split_key(key)
                if name in (ps, ss):
                    change.affected |= {ps, ss}
                    del state["conns"][key]
            del state["snaps"][name]
        return snap

    def connect(self, plug_ref: str, slot_ref: str | None = None) -> Connection:
        """Connect `snap:plug` to `snap:slot`, `snap` (its one matching slot), or the system's slot."""
        self._check_root()
        return self._connect(plug_ref, slot_ref, dry_run=False)

    def preview_connect(self, plug_ref: str, slot_ref: str | None = None):
        """The profile changes a connect would make (a ProfilePreview), changing nothing."""
        try:
            self._connect(plug_ref, slot_ref, dry_run=True)
        except _DryRun as dry:
            return dry.preview
        raise AssertionError("a dry run always ends in _DryRun")  # pragma: no cover

    def preview_disconnect(self, ref: str, other: str | None = None, forget: bool = False):
        """The profile changes a disconnect would make, changing nothing."""
        try:
            self._disconnect(ref, other, forget, dry_run=True)
        except _DryRun as dry:
            return dry.preview
        raise AssertionError("a dry run always ends in _DryRun")  # pragma: no cover

    def _connect(self, plug_ref: str, slot_ref: str | None, dry_run: bool) -> Connection:
        psnap, pname = parse_ref(plug_ref, "plug")
        if pname is None:
            raise UsageError(f"name the plug: {plug_ref}:PLUG")
        with self._transaction("connect", dry_run=dry_run) as change:
            state = change.state
            view = self._view(state)
            plug = view.plug(psnap, pname)
            if slot_ref is None:
                ssnap, sname = SYSTEM_SNAP, None
            else:
                ssnap, sname = parse_ref(slot_ref, "slot")
            if sname is None:
                owner = view.snap(ssnap)
                matches = [s for s in owner.slots.values() if s.interface == plug.interface]
                if len(matches) != 1:
                    who = "the system" if ssnap == SYSTEM_SNAP else f"snap {ssnap!r}"
                    if not matches:
                        raise NotFoundError(f"{who} has no {plug.interface} slot for {plug.ref}")
                    raise UsageError(f"{who} has {len(matches)} {plug.interface} slots "
                                     f"({', '.join(s.ref for s in matches)}): name one")
                slot = matches[0]
            else:
                slot = view.slot(ssnap, sname)
            if slot.interface != plug.interface:
                raise RefusedError(f"cannot connect {plug.ref} ({plug.interface}) to {slot.ref} ({slot.interface}): "
                                   "plug and slot must be of the same interface", "interface-mismatch")
            decision = self._decide_connection(view, plug, slot, auto=False)
            granted = False
            if not decision.allowed:
                if plug.interface in self._grants_for(view, plug.snap) | self._grants_for(view, slot.snap):
                    granted = True
                else:
                    raise RefusedError(f"cannot connect {plug.ref} to {slot.ref}: {decision.reason}; an admin may "
                                       f"allow it with `confine install --grant {plug.interface}`", decision.rule)
            key = conn_key(plug.snap, plug.name, slot.snap, slot.name)
            state["conns"][key] = {"interface": plug.interface, "auto": False, "undesired": False,
                                   "granted": granted, "plug-static": plug.attrs, "slot-static": slot.attrs}
            change.affected |= {plug.snap, slot.snap}
        return Connection(plug.interface, plug, slot, auto=False, granted=granted)

    def disconnect(self, ref: str, other: str | None = None, forget: bool = False) -> list[Connection]:
        """Disconnect one connection (plug and slot) or every connection of a plug or slot.

        An auto-connection is kept as "undesired" so that it is not made again on the
        next install; `forget=True` drops it instead.
        """
        self._check_root()
        return self._disconnect(ref, other, forget, dry_run=False)

    def _disconnect(self, ref: str, other: str | None, forget: bool, dry_run: bool) -> list[Connection]:
        a_snap, a_name = parse_ref(ref, "plug or slot")
        with self._transaction("disconnect", dry_run=dry_run) as change:
            state = change.state
            view = self._view(state)
            view.snap(a_snap)
            if other is not None:
                b_snap, b_name = parse_ref(other, "slot")
                if a_name is None or b_name is None:
                    raise UsageError("to disconnect one connection name both ends: SNAP:PLUG SNAP:SLOT")
                view.plug(a_snap, a_name)
                view.slot(b_snap, b_name)
                wanted = lambda ps, pn, ss, sn: (ps, pn, ss, sn) == (a_snap, a_name, b_snap, b_name)  # noqa: E731
            elif a_name is None:
                raise UsageError(f"name the plug or slot: {ref}:NAME")
            else:
                s = view.snap(a_snap)
                if a_name not in s.plugs and a_name not in s.slots:
                    raise NotFoundError(f"snap {a_snap!r} has no plug or slot named {a_name!r}")
                wanted = lambda ps, pn, ss, sn: (ps, pn) == (a_snap, a_name) or (ss, sn) == (a_snap, a_name)  # noqa: E731
            gone: list[Connection] = []
            forgotten = 0
            for key, rec in list(state["conns"].items()):
                if not wanted(*split_key(key)):
                    continue
                was_connected = not rec.get("undesired")
                conn = view.connection(key, rec)
                if rec.get("auto") and not forget:
                    rec["undesired"] = True
                elif was_connected or forget:
                    del state["conns"][key]
                if was_connected and conn is not None:
                    gone.append(conn)
                elif not was_connected and forget:
                    forgotten += 1
            if not gone and not forgotten:
                what = f"{ref} {other}" if other else ref
                raise NotFoundError(f"{what}: not connected")
            change.affected |= {c.plug.snap for c in gone} | {c.slot.snap for c in gone}
        return gone

    # ---- what a console shows of one snap, and its reset -------------------------

    def candidates(self, snap: str) -> list[Candidate]:
        """Every connection the plugs and slots of `snap` could have, with the declaration's word.

        Each plug of the snap with every slot of its interface (the system's included),
        then each slot of the snap with every plug of other snaps.
        """
        view = self._view()
        return self._memo(view, ("candidates", snap), lambda: self._candidates(view, snap))

    def _candidates(self, view: _View, snap: str) -> list[Candidate]:
        owner = view.snap(snap)

        def judge(plug: Plug, slot: Slot) -> Candidate:
            manual = self._decide_connection(view, plug, slot, auto=False)
            auto = self._decide_connection(view, plug, slot, auto=True)
            granted = not manual.allowed and plug.interface in (
                self._grants_for(view, plug.snap) | self._grants_for(view, slot.snap))
            refusal = auto if manual.allowed else manual
            key = conn_key(plug.snap, plug.name, slot.snap, slot.name)
            rec = view.state["conns"].get(key)
            return Candidate(plug, slot, allowed=manual.allowed or granted, auto=auto.allowed, granted=granted,
                             rule=refusal.rule, reason=refusal.reason,
                             connection=view.connection(key, rec) if rec else None)

        out = [judge(plug, slot) for plug in owner.plugs.values() for slot in view.slots_of(plug.interface)]
        for slot in owner.slots.values():
            out += [judge(plug, slot) for other in view.snaps.values() if other.name != snap
                    for plug in other.plugs.values() if plug.interface == slot.interface]
        return out

    def profile(self, target: str, kind: str) -> str:
        """The generated text of one kind for SNAP.APP (see ProfileManager.show)."""
        return self.profiles.show(target, kind)

    def reset(self, name: str) -> tuple[list[Connection], list[Connection]]:
        """Put the plugs of `name` back as its declaration has them: manual connections
        are dropped, undesired auto-connections made again, and what policy connects by
        itself is connected. Returns (disconnected, connected)."""
        self._check_root()
        return self._reset(name, dry_run=False)

    def preview_reset(self, name: str):
        """The profile changes a reset would make, changing nothing."""
        try:
            self._reset(name, dry_run=True)
        except _DryRun as dry:
            return dry.preview
        raise AssertionError("a dry run always ends in _DryRun")  # pragma: no cover

    def _reset(self, name: str, dry_run: bool) -> tuple[list[Connection], list[Connection]]:
        if name == SYSTEM_SNAP:
            raise RefusedError("the system snap has no plugs to reset", "system-snap")
        with self._transaction("reset", dry_run=dry_run) as change:
            state = change.state
            view = self._view(state)
            snap = view.snap(name)
            dropped: list[Connection] = []
            restored: list[Connection] = []
            for key, rec in list(state["conns"].items()):
                if split_key(key)[0] != name:
                    continue
                conn = view.connection(key, rec)
                if not rec.get("auto"):
                    del state["conns"][key]
                    if conn is not None:
                        dropped.append(conn)
                elif rec.get("undesired"):
                    rec["undesired"] = False
                    if conn is not None:
                        restored.append(Connection(conn.interface, conn.plug, conn.slot, auto=True))
            made, _ = self._auto_connect(view, snap)
            restored += made
            change.affected |= {name} | {c.plug.snap for c in dropped + restored} | {c.slot.snap for c in dropped + restored}
        return dropped, restored

    # ---- silenced denials (the console's "silence" key; see silences.py) -----------

    def denial_silences(self) -> dict[str, list[str]]:
        from .silences import Silences
        return Silences(self.root).read()

    def silence_denial(self, snap: str, key: str) -> bool:
        """Hide denials of `key` (silences.denial_key) for `snap`; False if already hidden."""
        from .silences import Silences
        self._check_root()
        self._view().snap(snap)
        return Silences(self.root).add(snap, key)

    def unsilence_denial(self, snap: str, key: str | None = None) -> int:
        from .silences import Silences
        self._check_root()
        return Silences(self.root).remove(snap, key)
