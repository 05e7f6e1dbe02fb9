"""Where each generated artifact lives under the state root.

One place names the layout, so the orchestrator that writes the files, the
launch plan that points at them and the launcher that reads them agree:

    ROOT/profiles/apparmor/<tag>                 AppArmor profile (text)
    ROOT/profiles/apparmor/<tag>.bin             its compiled form (apparmor_parser -Q -T -o)
    ROOT/profiles/seccomp/<tag>.src              seccomp policy in the line grammar
    ROOT/profiles/seccomp/<tag>.bin              allow filter (raw BPF)
    ROOT/profiles/seccomp/<tag>.deny.bin         deny filter (raw BPF), loaded first
    ROOT/profiles/landlock/<tag>.json            Landlock rules
    ROOT/profiles/launch/<tag>.json              launch plan
    ROOT/profiles/udev/70-snap.<snap>.rules      udev rules of the snap (one file per snap)
    ROOT/profiles/modules/snap.<snap>.conf       kernel modules of the snap (modules-load.d form)
"""
from __future__ import annotations

from pathlib import Path


def artifact_paths(root: str | Path, tag: str | None, snap: str) -> dict[str, Path]:
    """Paths of the artifacts of security tag `tag` of snap `snap`.

    With `tag=None` only the per-snap artifacts (udev, modules) are returned.
    """
    base = Path(root) / "profiles"
    out = {
        "udev": base / "udev" / f"70-snap.{snap}.rules",
        "modules": base / "modules" / f"snap.{snap}.conf",
    }
    if tag is not None:
        if not tag.startswith(f"snap.{snap}.") or "/" in tag:
            raise ValueError(f"security tag {tag!r} does not belong to snap {snap!r}")
        out.update({
            "apparmor": base / "apparmor" / tag,
            "apparmor-binary": base / "apparmor" / f"{tag}.bin",
            "seccomp-src": base / "seccomp" / f"{tag}.src",
            "seccomp": base / "seccomp" / f"{tag}.bin",
            "seccomp-deny": base / "seccomp" / f"{tag}.deny.bin",
            "landlock": base / "landlock" / f"{tag}.json",
            "launch": base / "launch" / f"{tag}.json",
        })
    return out


def private_tmp_dir(root: str | Path, snap: str) -> Path:
    """The host directory bound over /tmp for every app of `snap` (a sticky 1777 dir
    inside a 0700 parent, as snap-confine keeps its private /tmp)."""
    return Path(root) / "tmp" / f"snap.{snap}" / "tmp"

