"""Suggestions on this kernel: for each example snap, an interface left unconnected (or
disconnected) makes the app run into a denial whose first suggestion is that interface;
running the suggested command makes that denial go away.

The examples are installed into a scratch root, and one follower (`confine denials
--follow --json --enable-audit`) reads every denial while each case runs its app with
`confine run`. This kernel has no AppArmor, so the denials come from seccomp and
Landlock. Where the app itself cannot meet its interface's policy on this machine, the
case says how it gets there:

* snapshot-camera: there is no camera here, so the test makes /dev/video63 (an empty
  regular file, removed afterwards) and gives it to the app as its device;
* container-client: its engine is not running, so the client never gets as far as its
  socket; the case runs the client's one docker-only system call, bind(2), in the
  client's own sandbox (`confine run --shell`);
* containerd-lite: the daemon runs its start-up checks only (`--checks-only`).
"""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from denials_support import (ROOT_USER, Follower, audit_enabled, confine, env, install_examples,
                             kill_group, set_audit)
from launch_support import HostDirs

pytestmark = pytest.mark.skipif(not ROOT_USER, reason="the audit socket and confine run need root")

FAKE_CAMERA = "/dev/video63"
BIND_PROBE = "import socket; socket.socket(socket.AF_UNIX).bind(b'\\0confine-denials-test')"

# target, interface, what to disconnect first, how to run it, whether the fix is one command
CASES = [
    ("hello.hello", "home", None, [], False),
    ("notes.notes", "removable-media", None, [], True),
    ("nettool.nettool", "network-bind", "nettool:network-bind", [], True),
    ("sysmon.sysmon", "process-control", None, [], True),
    ("vm-manager.vm-manager", "network", "vm-manager:network", [], True),
    ("webbrowser.webbrowser", "network", "webbrowser:network", [], True),
    ("snapshot-camera.snapshot-camera", "camera", None, ["--", FAKE_CAMERA], True),
    ("container-client.client", "docker", None, ["--shell", "--", "-c", 'exec python3 -I -S -c "$0"', BIND_PROBE],
     True),
    ("containerd-lite.daemon", "docker-support", None, ["--", "--checks-only"], False),
]
SNAPS = sorted({c[0].split(".")[0] for c in CASES})


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    r = tmp_path_factory.mktemp("suggest") / "root"
    install_examples(r)
    return r


@pytest.fixture(scope="module", autouse=True)
def host_dirs():
    dirs = HostDirs(SNAPS)
    yield dirs
    dirs.cleanup()


@pytest.fixture(scope="module")
def fake_camera():
    made = not os.path.exists(FAKE_CAMERA)
    if made:
        Path(FAKE_CAMERA).write_bytes(b"")
    yield FAKE_CAMERA
    if made:
        os.unlink(FAKE_CAMERA)


@pytest.fixture(scope="module")
def follower(root):
    before = audit_enabled()
    f = Follower(root, "--json", "--source", "netlink", "--enable-audit").start()
    try:
        yield f
    finally:
        f.stop(signal.SIGTERM)
        f.kill()
        if audit_enabled() != before and before in (0, 1):
            set_audit(before)


def run_app(root: Path, target: str, extra: list[str]) -> subprocess.CompletedProcess:
    if extra[:1] == ["--shell"]:
        cmd = ["run", "--shell", target, *extra[1:]]
    else:
        cmd = ["run", target, *extra]
    proc = subprocess.Popen([sys.executable, "-m", "backends.cli_run", "--root", str(root), *cmd],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), cwd="/",
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        kill_group(proc)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def denials_of(f: Follower, start: int, snap: str, app: str) -> list[dict]:
    return [r for r in f.records(start) if r["snap"] == snap and r["app"] == app]


def first(r: dict) -> str | None:
    return r["suggestions"][0]["interface"] if r["suggestions"] else None


@pytest.mark.parametrize("target,interface,disconnect,extra,fixable", CASES, ids=[c[0] for c in CASES])
def test_first_suggestion_is_the_missing_interface(root, follower, fake_camera, target, interface, disconnect,
                                                  extra, fixable):
    snap, app = target.split(".")
    if disconnect:
        p = confine(root, "disconnect", disconnect)
        assert p.returncode == 0, p.stderr
    conns = confine(root, "connections", snap, "--json")
    assert not any(c["interface"] == interface and c["slot"] and not c["undesired"]
                   for c in __import__("json").loads(conns.stdout)), f"{interface} is connected for {snap}"

    start = len(follower.lines)
    proc = run_app(root, target, extra)
    assert proc.returncode in (0, 1), proc.stderr
    follower.settle()
    records = denials_of(follower, start, snap, app)
    assert records, f"no denial of {target}:\n{proc.stdout}\n{proc.stderr}"
    hits = [r for r in records if first(r) == interface]
    assert hits, "first suggestions: " + "; ".join(f"{r['kind']} {r['syscall'] or r['name']}: {first(r)}"
                                                    for r in records)
    best = hits[0]["suggestions"][0]
    assert best["plug"] == (f"{snap}:{interface}" if snap != "hello" else None)
    if not fixable:
        assert best["command"] is None or best["super-privileged"]
        return
    assert best["command"].startswith(f"confine connect {snap}:{interface}")

    # the ready command, run as printed, removes that denial
    args = shlex.split(best["command"])[1:]
    p = confine(root, *args)
    assert p.returncode == 0, p.stderr
    start = len(follower.lines)
    proc = run_app(root, target, extra)
    follower.settle()
    again = [r for r in denials_of(follower, start, snap, app) if first(r) == interface
             and (r["syscall"], r["name"], r["denied"]) == (hits[0]["syscall"], hits[0]["name"], hits[0]["denied"])]
    assert not again, f"still denied after `{best['command']}`: {again[0]['explanation']}"


def test_suggestions_follow_the_state(root, follower):
    """A denial for an interface that is connected meanwhile is not suggested again: the
    follower reads the state when it changes, without a restart."""
    start = len(follower.lines)
    run_app(root, "notes.notes-sync", [])
    follower.settle()
    recs = denials_of(follower, start, "notes", "notes-sync")
    media = [r for r in recs if r["name"] == "/media"]
    assert media and first(media[0]) == "removable-media"
    s = media[0]["suggestions"][0]
    # removable-media is declared by notes but bound to the notes app only
    assert s["action"] == "bind" and "apps.notes-sync.plugs" in s["note"]
