"""Install and load a snap's profiles into this machine, where it allows it.

Only the system root touches the host (see NativeBackend's `host` option): a test
or scratch root keeps its artifacts under ROOT/profiles and says so. Each layer
reports by name what it did and what it could not do here.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .paths import artifact_paths
from .context import security_tags

if TYPE_CHECKING:  # pragma: no cover
    from ..engine import NativeBackend


def load_into_host(backend: "NativeBackend", state: dict, snaps: set[str]) -> list[str]:
    if not backend.host:
        return [f"host: profiles kept under {backend.root / 'profiles'} only: this root is not the system root "
                "(AppArmor, udev rules and kernel modules were not installed into the host)"]
    from ..apparmor.compile import load_profiles
    from ..kmod import install_modules
    from ..udev.load import install_rules

    lines: list[str] = []
    binaries = []
    view = backend._view(state)
    for name in sorted(snaps):
        paths = artifact_paths(backend.root, None, name)
        rules = paths["udev"].read_text() if paths["udev"].exists() else ""
        lines += install_rules(name, rules).lines()
        modules = paths["modules"].read_text().split() if paths["modules"].exists() else []
        lines += install_modules(name, modules).lines()
        if name in view.snaps:
            for tag, _, _ in security_tags(view.snaps[name]):
                binaries.append(artifact_paths(backend.root, tag, name)["apparmor-binary"])
    lines += load_profiles(binaries, binary=True).lines()
    return lines
