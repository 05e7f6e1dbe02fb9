"""Profiles follow the state: regenerated for affected snaps only, unchanged ones untouched,
previews change nothing, removal cleans up, and a crash is repaired."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backends.native.engine import NativeBackend
from backends.native.profiles.paths import artifact_paths
from backends.native.state import StateStore
from sample_snaps import CAM


OTHER = """
name: other
version: '1'
apps:
  other:
    command: bin/run
    plugs: [camera]
"""


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under profiles/ with its content and mtime."""
    out = {}
    base = root / "profiles"
    for dirpath, _, files in os.walk(base):
        for f in files:
            p = Path(dirpath) / f
            if f == ".pending":
                continue
            out[str(p.relative_to(base))] = (p.read_bytes(), p.stat().st_mtime_ns)
    return out


def in_line_with_state(engine: NativeBackend) -> None:
    """What is on disk equals what the committed state generates, for every snap."""
    state = StateStore(engine.root).read()
    for name in state["snaps"]:
        for a in engine.profiles.generate(state, name):
            assert a.path.read_text() == a.text, a.path
            if a.kind == "seccomp":
                assert engine.profiles._up_to_date(a.path, artifact_paths(engine.root, a.tag, name)["seccomp"])
            if a.kind == "apparmor":
                assert engine.profiles._up_to_date(a.path, artifact_paths(engine.root, a.tag, name)["apparmor-binary"])
    owners = {p.split(".")[1] for p in tree(engine.root) if p.split("/")[-1].startswith("snap.")}
    assert owners <= set(state["snaps"]), f"profiles of snaps that are gone: {owners - set(state['snaps'])}"


def test_install_writes_and_compiles_every_artifact(engine, make_snap, root):
    engine.install(make_snap(CAM))
    paths = artifact_paths(root, "snap.cam.cam", "cam")
    for key in ("apparmor", "apparmor-binary", "seccomp-src", "seccomp", "landlock", "launch"):
        assert paths[key].is_file(), key
    assert paths["seccomp"].stat().st_size % 8 == 0 and paths["seccomp"].stat().st_size > 0
    assert 'profile "snap.cam.cam"' in paths["apparmor"].read_text()
    assert not (root / "profiles" / ".pending").exists()
    in_line_with_state(engine)


def test_connect_regenerates_only_the_affected_snap(engine, make_snap, root):
    engine.install(make_snap(CAM))
    engine.install(make_snap(OTHER))
    before = tree(root)
    engine.connect("cam:camera")
    after = tree(root)
    changed = {k for k in after if before.get(k) != after[k]}
    assert changed, "connecting the camera changed no profile"
    assert all("snap.cam." in k or "snap.cam.rules" in k or k.endswith("70-snap.cam.rules") for k in changed), changed
    assert "/dev/video" in artifact_paths(root, "snap.cam.cam", "cam")["apparmor"].read_text()
    assert 'TAG+="snap_cam_cam"' in artifact_paths(root, None, "cam")["udev"].read_text()
    # the other snap's files were not even rewritten
    for k, v in before.items():
        if "snap.other." in k:
            assert after[k] == v
    in_line_with_state(engine)


def test_unchanged_profiles_are_not_rewritten_or_recompiled(engine, make_snap, root):
    engine.install(make_snap(CAM))
    engine.connect("cam:camera")
    engine.disconnect("cam:camera")
    before = tree(root)
    report = engine.profiles.repair()
    assert report.written == [] and report.compiled == []
    assert tree(root) == before


def test_disconnect_restores_the_original_text(engine, make_snap, root):
    engine.install(make_snap(CAM))
    original = artifact_paths(root, "snap.cam.cam", "cam")["apparmor"].read_text()
    engine.connect("cam:camera")
    engine.disconnect("cam:camera")
    assert artifact_paths(root, "snap.cam.cam", "cam")["apparmor"].read_text() == original
    assert not artifact_paths(root, None, "cam")["udev"].exists()


def test_dry_run_shows_the_diff_and_changes_nothing(engine, make_snap, root):
    engine.install(make_snap(CAM))
    state_before = (root / "state.json").read_bytes()
    files_before = tree(root)
    preview = engine.preview_connect("cam:camera")
    assert "profiles/apparmor/snap.cam.cam" in " ".join(preview.diffs) or any(
        "apparmor/snap.cam.cam" in k for k in preview.diffs)
    text = preview.text()
    assert "+" in text and "/dev/video" in text and text.startswith("--- a/")
    assert (root / "state.json").read_bytes() == state_before
    assert tree(root) == files_before
    undo = engine.preview_disconnect("cam:network")
    assert any("seccomp" in k or "apparmor" in k or "landlock" in k for k in undo.diffs)


def test_remove_deletes_the_snaps_profiles(engine, make_snap, root):
    engine.install(make_snap(CAM))
    engine.connect("cam:camera")
    engine.remove("cam")
    assert not [k for k in tree(root) if "snap.cam." in k or "snap.cam.rules" in k]


def test_host_integration_is_off_for_scratch_roots_and_says_so(engine, make_snap):
    engine.install(make_snap(CAM))
    report = engine.profiles.last_report
    assert any("not the system root" in line for line in report.host)


def test_profile_preview_kinds(engine, make_snap):
    engine.install(make_snap(CAM))
    assert 'profile "snap.cam.cam"' in engine.profiles.show("cam.cam", "apparmor")
    assert "snap.cam.cam" in engine.profiles.show("cam.cam", "seccomp")
    pfc = engine.profiles.show("cam.cam", "pfc")
    assert "arch" in pfc.lower() and "action" in pfc.lower()
    assert json.loads(engine.profiles.show("cam.cam", "launch"))["schema"] == 1
    json.loads(engine.profiles.show("cam.cam", "landlock"))
    from backends.errors import NotFoundError, UsageError
    with pytest.raises(NotFoundError):
        engine.profiles.show("cam.nope", "apparmor")
    with pytest.raises(UsageError):
        engine.profiles.show("cam.cam", "bogus")


def test_cli_profile_and_dry_run(root, make_snap):
    def confine(*args):
        return subprocess.run([sys.executable, "-m", "backends.cli", "--root", str(root), *args],
                              capture_output=True, text=True, timeout=120)
    assert confine("install", str(make_snap(CAM))).returncode == 0
    out = confine("connect", "--dry-run", "cam:camera")
    assert out.returncode == 0 and "/dev/video" in out.stdout
    assert json.loads(confine("connections", "--json").stdout)[0]["interface"] == "network"  # not connected
    out = confine("profile", "cam.cam", "--kind", "pfc")
    assert out.returncode == 0 and out.stdout.strip()
    out = confine("doctor", "--repair")
    assert out.returncode == 0 and "0 written" in out.stdout, out.stdout


HELPER = r"""
import sys, os
from backends.native.engine import NativeBackend
e = NativeBackend(sys.argv[1], system_kind="classic")
os.write(1, b"ready\n")
while True:
    e.connect("cam:camera")
    e.disconnect("cam:camera")
"""


def test_killed_during_regeneration_then_repaired(engine, make_snap, root, tmp_path):
    """SIGKILL while profiles are being regenerated: the next operation or --repair
    brings every profile back in line with the committed state."""
    engine.install(make_snap(CAM))
    engine.install(make_snap(OTHER))
    script = tmp_path / "churn.py"
    script.write_text(HELPER)
    for i, delay in enumerate((0.05, 0.13, 0.21, 0.3, 0.42, 0.55)):
        proc = subprocess.Popen([sys.executable, str(script), str(root)], stdout=subprocess.PIPE)
        try:
            assert proc.stdout.readline() == b"ready\n"
            time.sleep(delay)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        if i % 2:
            engine.profiles.repair()
        else:  # any next operation finishes what a killed one left pending
            engine.connect("other:camera")
            engine.disconnect("other:camera")
        in_line_with_state(engine)
        assert not (root / "profiles" / ".pending").exists()
