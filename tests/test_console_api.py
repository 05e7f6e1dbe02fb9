"""The engine calls added for the console: candidates, reset, profile, silenced denials; and their CLI."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from backends.errors import RefusedError, UsageError
from backends.native.engine import NativeBackend
from backends.native.silences import denial_key

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def examples(root):
    e = NativeBackend(root, system_kind="classic", profiles=False)
    e.install_examples()
    return e


def test_candidates_say_what_the_declaration_allows(examples):
    by = {(c.plug.ref, c.slot.ref): c for c in examples.candidates("webbrowser")}
    home = by[("webbrowser:home", ":home")]
    assert home.allowed and home.auto and home.connection is not None and home.connection.auto
    camera = by[("webbrowser:camera", ":camera")]
    assert camera.allowed and not camera.auto and camera.connection is None
    assert camera.rule == "base-declaration slots.camera.deny-auto-connection"
    # a slot of the snap lists the plugs of other snaps; a grant allows what the declaration refuses
    slot_side = [c for c in examples.candidates("containerd-lite") if c.slot.snap == "containerd-lite"]
    assert [(c.plug.ref, c.allowed, c.granted) for c in slot_side] == [("container-client:docker", True, True)]


def test_reset_restores_the_declaration(examples):
    examples.connect("webbrowser:camera")
    examples.disconnect("webbrowser:home")
    preview = examples.preview_reset("webbrowser")
    assert any("camera" in d for d in preview.diffs.values())
    dropped, restored = examples.reset("webbrowser")
    assert [c.plug.ref for c in dropped] == ["webbrowser:camera"]
    assert [c.plug.ref for c in restored] == ["webbrowser:home"]
    rows = {r.plug: r for r in examples.connections("webbrowser")}
    assert rows["webbrowser:camera"].slot is None
    assert rows["webbrowser:home"].slot == ":home" and not rows["webbrowser:home"].undesired
    assert examples.reset("webbrowser") == ([], [])
    with pytest.raises(RefusedError):
        examples.reset("system")


def test_profile_is_the_generated_text(examples):
    assert "snap.notes.notes" in examples.profile("notes.notes", "apparmor")


def test_silences_are_kept_per_snap(examples, root):
    d = SimpleNamespace(kind="seccomp", syscall="ptrace", syscall_nr=101, snap="sysmon", operation=None,
                        cls="syscall", capability=None, name=None, family=None, fields={})
    key = denial_key(d)
    assert key == "seccomp:syscall:ptrace"
    assert examples.silence_denial("sysmon", key) is True
    assert examples.silence_denial("sysmon", key) is False
    assert examples.denial_silences() == {"sysmon": [key]}
    assert json.loads((root / "denials-silenced.json").read_text())["silenced"] == {"sysmon": [key]}
    assert examples.unsilence_denial("sysmon") == 1
    assert examples.denial_silences() == {}
    with pytest.raises(UsageError):
        examples.silence_denial("sysmon", "nonsense")


def test_cli_reset_and_silence(examples, root):
    def confine(*args):
        return subprocess.run([sys.executable, "-m", "backends.cli", "--root", str(root), *args], cwd=REPO,
                              capture_output=True, text=True, timeout=60)

    assert confine("connect", "notes:removable-media").returncode == 0
    out = confine("reset", "notes", "--json")
    assert out.returncode == 0, out.stderr
    assert [c["plug"] for c in json.loads(out.stdout)["disconnected"]] == ["notes:removable-media"]
    assert confine("silence", "notes", "apparmor:open:/media/usb/x").returncode == 0
    assert json.loads(confine("silence", "--json").stdout) == {"notes": ["apparmor:open:/media/usb/x"]}
