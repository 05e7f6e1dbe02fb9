"""Keep every snap's profiles in line with the state: generate, write, compile, load.

Runs as the engine's change hook, inside the state transaction, for the affected
snaps only. Text artifacts are written only when their text changed, and compiled
artifacts carry the hash of the source they were built from (`<output>.sha256`),
so a profile whose text did not change is neither rewritten nor recompiled. A
`.pending` marker names the snaps being regenerated until the state that matches
them is on disk: after a crash the next operation (or `confine doctor --repair`)
regenerates those snaps from the state that was actually committed.

Loading into the host (AppArmor, udev rules, kernel modules) happens after the
state is written, only where the host allows it and only for the system root;
each step reports what it did and what it could not do, by name.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import ConfineError, NotFoundError, UsageError
from ...model import SYSTEM_SNAP
from ..state import atomic_write
from .context import TagContext, build_contexts, security_tags

if TYPE_CHECKING:  # pragma: no cover
    from ..engine import Change, NativeBackend

KINDS = ("apparmor", "seccomp", "udev", "modules", "landlock", "launch")
PREVIEW_KINDS = ("apparmor", "seccomp", "pfc", "udev", "modules", "landlock", "launch")


@dataclass(frozen=True)
class Artifact:
    """One generated text file."""

    kind: str
    tag: str | None          # None for per-snap files (udev rules, modules)
    path: Path
    text: str


@dataclass
class Report:
    """What a regeneration did, step by step, for the faces to show."""

    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    compiled: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped_syscalls: dict[str, list[str]] = field(default_factory=dict)
    host: list[str] = field(default_factory=list)   # loading steps: done, or not done and why

    def to_json(self) -> dict:
        return {"written": self.written, "unchanged": self.unchanged, "compiled": self.compiled,
                "removed": self.removed, "skipped-syscalls": self.skipped_syscalls, "host": self.host}


@dataclass(frozen=True)
class ProfilePreview:
    """Per artifact, the unified diff a change would apply."""

    diffs: dict[str, str]

    def text(self) -> str:
        return "".join(self.diffs[k] for k in sorted(self.diffs)) or "(no profile changes)\n"


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ProfileManager:
    def __init__(self, backend: "NativeBackend"):
        self.backend = backend
        self.root = backend.root
        self.dir = backend.root / "profiles"

    # ---- generation (pure: state in, texts out) ---------------------------------

    def contexts(self, state: dict, snap_name: str) -> list[TagContext]:
        view = self.backend._view(state)
        snap = view.snap(snap_name)
        return build_contexts(snap, view.snaps, state["conns"], self.backend.catalogue, self.backend.system_kind)

    def generate(self, state: dict, snap_name: str) -> list[Artifact]:
        """Every text artifact of one snap, from `state`."""
        from ..apparmor.generate import generate as apparmor_text
        from ..kmod import modules_for
        from ..landlock.rules import generate as landlock_rules
        from ..launch.plan import generate as launch_plan
        from ..seccomp.template import generate_source
        from ..udev.rules import generate_rules
        from .paths import artifact_paths

        contexts = self.contexts(state, snap_name)
        out: list[Artifact] = []
        for ctx in contexts:
            paths = artifact_paths(self.root, ctx.tag, snap_name)
            out.append(Artifact("apparmor", ctx.tag, paths["apparmor"], apparmor_text(ctx)))
            out.append(Artifact("seccomp", ctx.tag, paths["seccomp-src"], generate_source(ctx)))
            out.append(Artifact("landlock", ctx.tag, paths["landlock"], _json(landlock_rules(ctx))))
            out.append(Artifact("launch", ctx.tag, paths["launch"], _json(launch_plan(ctx, root=self.root))))
        paths = artifact_paths(self.root, None, snap_name)
        rules = generate_rules(contexts)
        if rules:
            out.append(Artifact("udev", None, paths["udev"], rules))
        modules = modules_for(contexts)
        if modules:
            out.append(Artifact("modules", None, paths["modules"], "".join(m + "\n" for m in modules)))
        return out

    def owned_files(self, snap_name: str) -> list[Path]:
        """Every file under profiles/ that belongs to `snap_name` (sources and outputs)."""
        if not self.dir.is_dir():
            return []
        prefixes = (f"snap.{snap_name}.", f"70-snap.{snap_name}.rules", f"snap.{snap_name}.conf")
        found = []
        for dirpath, _, files in os.walk(self.dir):
            for f in files:
                if f.startswith(prefixes):
                    found.append(Path(dirpath) / f)
        return found

    # ---- writing and compiling ------------------------------------------------

    def _write(self, artifacts: list[Artifact], report: Report) -> list[Artifact]:
        changed = []
        for a in artifacts:
            data = a.text.encode()
            try:
                if a.path.read_bytes() == data:
                    report.unchanged += 1
                    continue
            except FileNotFoundError:
                pass
            a.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(a.path, data)
            report.written.append(str(a.path.relative_to(self.root)))
            changed.append(a)
        return changed

    @staticmethod
    def _up_to_date(source: Path, output: Path) -> bool:
        stamp = output.with_name(output.name + ".sha256")
        try:
            return output.exists() and stamp.read_text() == _hash(source.read_bytes())
        except FileNotFoundError:
            return False

    @staticmethod
    def _stamp(source: Path, output: Path) -> None:
        atomic_write(output.with_name(output.name + ".sha256"), _hash(source.read_bytes()).encode())

    def _compile(self, artifacts: list[Artifact], report: Report) -> None:
        """Compile the seccomp and AppArmor sources whose compiled output is stale."""
        from ..apparmor.compile import compile_profiles
        from ..seccomp import compiler, grammar
        from .paths import artifact_paths

        apparmor_jobs = []
        for a in artifacts:
            if a.tag is None:
                continue
            paths = artifact_paths(self.root, a.tag, a.tag.split(".")[1])
            if a.kind == "seccomp":
                allow, deny = paths["seccomp"], paths["seccomp-deny"]
                if self._up_to_date(a.path, allow):
                    continue
                policy = grammar.parse(a.text, str(a.path))
                result = compiler.compile_policy(policy, tree=True)
                if result.skipped:
                    report.skipped_syscalls[a.tag] = sorted(result.skipped)
                if result.deny is not None:
                    atomic_write(deny, result.deny)
                else:
                    deny.unlink(missing_ok=True)
                atomic_write(allow, result.allow)
                self._stamp(a.path, allow)
                report.compiled.append(str(allow.relative_to(self.root)))
            elif a.kind == "apparmor":
                out = paths["apparmor-binary"]
                if not self._up_to_date(a.path, out):
                    out.parent.mkdir(parents=True, exist_ok=True)
                    apparmor_jobs.append((a.tag, a.path, out))
        if apparmor_jobs:
            failed = []
            for res in compile_profiles(apparmor_jobs):
                if res.ok:
                    src = next(j[1] for j in apparmor_jobs if j[0] == res.tag)
                    out = next(j[2] for j in apparmor_jobs if j[0] == res.tag)
                    self._stamp(src, out)
                    report.compiled.append(str(out.relative_to(self.root)))
                else:
                    failed.append(res)
            if failed:
                raise ConfineError("AppArmor compile failed: " + "; ".join(str(r.error) for r in failed))

    def _drop(self, snap_name: str, keep: set[Path], report: Report) -> None:
        keep_all = keep | {p.with_name(p.name + ".sha256") for p in keep}
        for f in self.owned_files(snap_name):
            if f not in keep_all:
                f.unlink(missing_ok=True)
                report.removed.append(str(f.relative_to(self.root)))

    def _expected_outputs(self, artifacts: list[Artifact]) -> set[Path]:
        from .paths import artifact_paths

        keep = {a.path for a in artifacts}
        for a in artifacts:
            if a.tag is not None:
                paths = artifact_paths(self.root, a.tag, a.tag.split(".")[1])
                if a.kind == "seccomp":
                    keep |= {paths["seccomp"], paths["seccomp-deny"]}
                elif a.kind == "apparmor":
                    keep.add(paths["apparmor-binary"])
        return keep

    def regenerate(self, state: dict, snaps: set[str], report: Report | None = None) -> Report:
        """Bring the profiles of `snaps` in line with `state` (removed snaps: delete them)."""
        report = report or Report()
        for name in sorted(snaps - {SYSTEM_SNAP}):
            if name not in state["snaps"]:
                self._drop(name, set(), report)
                continue
            artifacts = self.generate(state, name)
            self._write(artifacts, report)
            self._compile(artifacts, report)
            self._drop(name, self._expected_outputs(artifacts), report)
        return report

    # ---- the change hook ------------------------------------------------------

    @property
    def pending_path(self) -> Path:
        return self.dir / ".pending"

    def pending(self) -> set[str]:
        try:
            return set(json.loads(self.pending_path.read_text()))
        except (FileNotFoundError, ValueError):
            return set()

    def on_change(self, backend: "NativeBackend", change: "Change") -> None:
        snaps = set(change.affected) | set(change.removed) | self.pending()
        if not snaps:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self.pending_path, json.dumps(sorted(snaps)).encode())
        try:
            report = self.regenerate(change.state, snaps)
        except BaseException:
            # The state will not be written: put the profiles back as the old state has them.
            try:
                self.regenerate(self.backend.store.read(), snaps)
                self.pending_path.unlink(missing_ok=True)
            except Exception:
                pass  # .pending stays: the next operation or --repair finishes the job
            raise
        change.after_write.append(lambda: self._after_write(change.state, snaps, report))
        self.last_report = report

    def _after_write(self, state: dict, snaps: set[str], report: Report) -> None:
        self.pending_path.unlink(missing_ok=True)
        from .host import load_into_host

        report.host.extend(load_into_host(self.backend, state, snaps))

    def repair(self) -> Report:
        """Regenerate every snap's profiles from the committed state (doctor --repair)."""
        with self.backend.store.locked():
            state = self.backend.store.read()
            known = set(state["snaps"])
            on_disk = set()
            if self.dir.is_dir():
                for dirpath, _, files in os.walk(self.dir):
                    for f in files:
                        for prefix in ("snap.", "70-snap."):
                            if f.startswith(prefix):
                                on_disk.add(f[len(prefix):].split(".")[0])
            report = self.regenerate(state, known | on_disk | self.pending())
            self.pending_path.unlink(missing_ok=True)
            from .host import load_into_host

            report.host.extend(load_into_host(self.backend, state, known))
        return report

    # ---- previews -------------------------------------------------------------

    def preview_change(self, old_state: dict, change: "Change") -> ProfilePreview:
        diffs: dict[str, str] = {}
        for name in sorted((change.affected | change.removed) - {SYSTEM_SNAP}):
            before = {str(a.path.relative_to(self.root)): a.text for a in self.generate(old_state, name)} \
                if name in old_state["snaps"] else {}
            after = {str(a.path.relative_to(self.root)): a.text for a in self.generate(change.state, name)} \
                if name in change.state["snaps"] else {}
            for key in sorted(set(before) | set(after)):
                a, b = before.get(key, ""), after.get(key, "")
                if a != b:
                    diffs[key] = "".join(difflib.unified_diff(
                        a.splitlines(keepends=True), b.splitlines(keepends=True),
                        fromfile=f"a/{key}", tofile=f"b/{key}"))
        return ProfilePreview(diffs)

    def show(self, target: str, kind: str) -> str:
        """The generated text of one kind for SNAP.APP (or SNAP.hook.HOOK), from the state."""
        if kind not in PREVIEW_KINDS:
            raise UsageError(f"--kind must be one of {', '.join(PREVIEW_KINDS)}")
        snap_name, sep, rest = target.partition(".")
        if not sep or not rest:
            raise UsageError(f"name an app as SNAP.APP, not {target!r}")
        state = self.backend.store.read()
        if snap_name not in state["snaps"]:
            raise NotFoundError(f"snap {snap_name!r} is not installed")
        tag = f"snap.{snap_name}.{rest}"
        view = self.backend._view(state)
        tags = [t for t, _, _ in security_tags(view.snap(snap_name))]
        if tag not in tags:
            raise NotFoundError(f"snap {snap_name!r} has no app or hook {rest!r} (tags: {', '.join(tags)})")
        artifacts = self.generate(state, snap_name)
        if kind == "pfc":
            from ..seccomp import compiler, grammar

            src = next(a for a in artifacts if a.kind == "seccomp" and a.tag == tag)
            return compiler.export_pfc(grammar.parse(src.text, str(src.path)))
        for a in artifacts:
            if a.kind == kind and (a.tag == tag or a.tag is None):
                return a.text
        return ""


def _json(data) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
