"""The `confine` command line: output shapes, --json, exit codes, no tracebacks."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sample_snaps import CAM



def confine(root, *args, check=None):
    proc = subprocess.run([sys.executable, "-m", "backends.cli", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=60)
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    return proc


@pytest.fixture
def installed(root, make_snap):
    confine(root, "install", str(make_snap(CAM)), check=0)
    return root


def test_list_json_shape(installed):
    data = json.loads(confine(installed, "list", "--json", check=0).stdout)
    assert data[0]["name"] == "cam"
    assert data[0]["apps"] == ["cam"]
    assert {p["name"] for p in data[0]["plugs"]} == {"camera", "network"}
    for key in ("name", "version", "confinement", "apps", "plugs", "slots"):
        assert key in data[0]


def test_connections_table_and_json(installed):
    out = confine(installed, "connections", check=0).stdout.splitlines()
    assert out[0].split() == ["Interface", "Plug", "Slot", "Notes"]
    assert out[1].split() == ["network", "cam:network", ":network", "-"]
    confine(installed, "connect", "cam:camera", check=0)
    rows = json.loads(confine(installed, "connections", "--json", check=0).stdout)
    cam = next(r for r in rows if r["interface"] == "camera")
    assert cam == {"interface": "camera", "plug": "cam:camera", "slot": ":camera", "manual": True,
                   "auto": False, "undesired": False, "granted": False, "notes": "manual"}
    confine(installed, "disconnect", "cam:network", check=0)
    rows = json.loads(confine(installed, "connections", "cam", "--json", check=0).stdout)
    net = next(r for r in rows if r["interface"] == "network")
    assert net["undesired"] is True and net["auto"] is True


def test_connections_all_lists_unconnected(installed):
    rows = json.loads(confine(installed, "connections", "--all", "--json", check=0).stdout)
    assert {"interface": "camera", "plug": "cam:camera", "slot": None} == \
        {k: v for k, v in next(r for r in rows if r["plug"] == "cam:camera").items() if k in ("interface", "plug", "slot")}
    assert any(r["plug"] is None and r["slot"] == ":camera" for r in rows)


def test_interface_command(installed):
    out = confine(installed, "interface", "camera", check=0).stdout
    assert "name:    camera" in out and "cam:camera" in out
    data = json.loads(confine(installed, "interface", "camera", "--attrs", "--json", check=0).stdout)
    assert data["plugs"] == [{"snap": "cam", "name": "camera", "apps": ["cam"], "attrs": {}}]
    names = [i["name"] for i in json.loads(confine(installed, "interface", "--all", "--json", check=0).stdout)]
    assert len(names) >= 45 and "docker-support" in names
    used = [i["name"] for i in json.loads(confine(installed, "interface", "--json", check=0).stdout)]
    assert sorted(used) == ["camera", "network"]


def test_exit_codes(installed):
    assert confine(installed, "frobnicate").returncode == 2
    assert confine(installed, "connect").returncode == 2
    bad = confine(installed, "connect", "cam:nope", check=1)
    assert bad.stderr.startswith("error: ") and "no plug named 'nope'" in bad.stderr
    assert confine(installed, "connect", "Cam:x", check=2).stderr.startswith("error: invalid plug")
    assert confine(installed, "remove", "absent", check=1).stderr.startswith("error:")


def test_refused_install_names_rule_and_exit_1(root, make_snap):
    src = make_snap("name: dockerd\nversion: '1'\nplugs:\n  docker-support: {}\napps:\n  d:\n    command: bin/run\n")
    proc = confine(root, "install", str(src), check=1)
    assert "base-declaration plugs.docker-support.allow-installation" in proc.stderr
    assert "--grant docker-support" in proc.stderr
    out = confine(root, "install", "--grant", "docker-support", str(src), check=0).stdout
    assert "granted by the admin: docker-support" in out


def test_doctor_json(root):
    data = json.loads(confine(root, "doctor", "--json", check=0).stdout)
    layers = {d["name"]: d for d in data}
    assert layers["seccomp"]["available"] is True
    assert layers["apparmor-kernel"]["available"] is False
    text = confine(root, "doctor", check=0).stdout
    assert "landlock" in text and "apparmor-kernel" in text


def test_install_examples_via_cli(root):
    out = confine(root, "install", "--examples", check=0).stdout
    assert "installed hello" in out
    assert "as an example" in out
    names = [s["name"] for s in json.loads(confine(root, "list", "--json", check=0).stdout)]
    assert "hello" in names and len(names) >= 9
