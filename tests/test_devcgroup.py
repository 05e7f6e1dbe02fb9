"""The device cgroup of a run, on the real kernel: cgroup v1 `devices` and a
cgroup v2 BPF device program (forced even where v1 is mounted), checked from a
child process placed in the cgroup. Every cgroup and child is removed by the
fixtures, also when an assertion fails."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from backends.native.launch import devcgroup
from backends.native.launch.devcgroup import DeviceCgroupError
from backends.native.launch.plan import COMMON_DEVICES

from devcgroup_support import MODES, ROOT, Prober


def step(common_nodes=None, matches=(), **extra) -> dict:
    common = [{"node": n, "type": t, "major": ma, "minor": mi, "access": "rwm"}
              for n, t, ma, mi in COMMON_DEVICES if common_nodes is None or n in common_nodes]
    return {"step": "device-cgroup", "name": "snap.devtest.app", "common": common, "matches": list(matches),
            "access": "rwm", **extra}


@pytest.fixture
def cgroups():
    made: list = []
    yield made
    paths = [cg.path for cg in made]
    for cg in made:
        cg.remove()
    assert not [p for p in paths if os.path.exists(p)]


@pytest.fixture
def child():
    kids: list[Prober] = []

    def make() -> Prober:
        kids.append(Prober())
        return kids[-1]
    yield make
    for k in kids:
        k.kill()


@pytest.mark.parametrize("mode", MODES)
def test_common_and_matched_devices_from_a_child(mode, cgroups, child):
    # every common device but /dev/zero and /dev/full; /dev/full comes from a device match
    nodes = {n for n, *_ in COMMON_DEVICES} - {"/dev/zero", "/dev/full"}
    cg = devcgroup.setup(step(nodes, [{"subsystem": "mem", "kernel": "full", "interfaces": ["test"]}]),
                         "snap.devtest.app", mode=mode)
    cgroups.append(cg)
    assert cg.mode == mode and os.path.isdir(cg.path)
    assert cg.path.startswith(devcgroup.find_mounts()[mode] + "/confine/snap.devtest.app.")
    kid = child()
    cg.attach(kid.pid)
    assert cg.pids() == [kid.pid]
    assert kid.open("/dev/null", "rw") == "ok"
    assert kid.open("/dev/urandom") == "ok"
    assert kid.open("/dev/ptmx", "rw") == "ok"
    assert kid.open("/dev/zero") == "EPERM"
    assert kid.open("/dev/full", "rw") == "ok"               # matched among the devices listed from /sys
    assert kid.open("/dev/loop0") == "EPERM"                 # not matched
    # a pty slave: allowed by the plan's "c 136:* rwm" (any minor)
    master, slave = os.openpty()
    try:
        assert kid.open(os.ttyname(slave), "rw") == "ok"
    finally:
        os.close(master)
        os.close(slave)
    # the kernel holds exactly what the object says it wrote
    assert cg.kernel_rules() == set(cg.rule_lines())
    assert {"c 1:3 rwm", "c 1:7 rwm", "c 136:* rwm", "c 143:* rwm"} <= cg.kernel_rules()
    assert "c 1:5 rwm" not in cg.kernel_rules()
    text = cg.explain()
    assert cg.path in text and "deny every device" in text
    assert "/dev/full (matched by subsystem=mem kernel=full (interface test))" in text
    assert ("BPF device program" in text) == (mode == "v2")


@pytest.mark.parametrize("mode", MODES)
def test_allow_and_deny_apply_to_the_running_child(mode, cgroups, child):
    cg = devcgroup.setup(step({"/dev/null"}), "snap.devtest.app", mode=mode)
    cgroups.append(cg)
    kid = child()
    cg.attach(kid.pid)
    assert kid.open("/dev/zero") == "EPERM"
    cg.allow("c", 1, 5, "r")
    assert kid.open("/dev/zero") == "ok"
    assert kid.open("/dev/zero", "rw") == "EPERM"            # read only: write is still refused
    assert kid.mknod("/tmp/.confine-devtest-zero", "c", 1, 5) == "EPERM"   # no "m"
    cg.allow("c", 1, 5, "w")
    assert kid.open("/dev/zero", "rw") == "ok"
    assert cg.kernel_rules() >= {"c 1:5 rw"}
    assert kid.mknod(f"/tmp/.confine-devtest-null-{kid.pid}", "c", 1, 3) == "ok"      # null has rwm
    cg.deny("c", 1, 5, "w")
    assert kid.open("/dev/zero", "rw") == "EPERM" and kid.open("/dev/zero") == "ok"
    cg.deny("c", 1, 5)
    assert kid.open("/dev/zero") == "EPERM"
    assert not any(line.startswith("c 1:5 ") for line in cg.kernel_rules())
    # a whole major with any minor, then taken back
    cg.allow("c", 1, "*", "r")
    assert kid.open("/dev/zero") == "ok" and kid.open("/dev/full") == "ok"
    cg.deny("c", 1, "*")
    assert kid.open("/dev/full") == "EPERM" and kid.open("/dev/null", "rw") == "ok"


@pytest.mark.parametrize("mode", MODES)
def test_remove_moves_processes_out_and_leaves_no_directory(mode, cgroups, child):
    cg = devcgroup.setup(step({"/dev/null"}), "snap.devtest.app", mode=mode)
    cgroups.append(cg)
    kid = child()
    home = open(f"/proc/{kid.pid}/cgroup").read()
    cg.attach(kid.pid)
    assert kid.open("/dev/zero") == "EPERM"
    assert open(f"/proc/{kid.pid}/cgroup").read() != home
    cg.remove()
    assert not os.path.exists(cg.path) and cg.removed
    assert open(f"/proc/{kid.pid}/cgroup").read() == home   # back where it came from
    assert kid.open("/dev/zero") == "ok"
    cg.remove()                                               # idempotent
    with pytest.raises(DeviceCgroupError):
        cg.allow("c", 1, 5)
    if mode == "v2":
        assert cg.map_fd == -1 and cg.prog_fd == -1


@pytest.mark.parametrize("mode", MODES)
def test_the_launch_plan_of_an_example_app(mode, cgroups, child, tmp_path):
    from tag_contexts import context, examples_backend
    from backends.native.launch import generate

    backend = examples_backend(tmp_path / "root")
    plan = generate(context(backend, "snap.snapshot-camera.snapshot-camera"), root=backend.root)
    cg_step = next(s for s in plan["steps"] if s["step"] == "device-cgroup")
    cg = devcgroup.setup(cg_step, plan["tag"], mode=mode)
    cgroups.append(cg)
    assert os.path.basename(cg.path) == f"snap.snapshot-camera.snapshot-camera.{os.getpid()}"
    # no video device on this machine: only the common devices
    assert set(cg.rule_lines()) == {f"{d['type']} {d['major']}:{d['minor']} rwm" for d in cg_step["common"]}
    kid = child()
    cg.attach(kid.pid)
    for node in ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"):
        assert kid.open(node) == "ok", node
    assert kid.open("/dev/loop0") == "EPERM"
    assert kid.open("/dev/vda") in ("EPERM", "ENOENT")


def test_a_step_that_says_skip_gives_no_cgroup():
    assert devcgroup.setup(step(skip="classic confinement: devices are not restricted"), "snap.x.y") is None


def test_a_missing_layer_is_named(monkeypatch):
    monkeypatch.setattr(devcgroup, "find_mounts", lambda: {"v1": None, "v1-writable": False, "v2": None})
    with pytest.raises(DeviceCgroupError) as e:
        devcgroup.setup(step(), "snap.x.y")
    assert "cgroup-v1-devices" in str(e.value) and "cgroup-v2-device-bpf" in str(e.value)
    if ROOT:
        with pytest.raises(DeviceCgroupError) as e:
            devcgroup.setup(step(), "snap.x.y", mode="v2")
        assert e.value.layer == "cgroup-v2-device-bpf" and "no cgroup2 mount" in str(e.value)
        with pytest.raises(DeviceCgroupError) as e:
            devcgroup.setup(step(), "snap.x.y", mode="v1")
        assert e.value.layer == "cgroup-v1-devices"
    with pytest.raises(ValueError):
        devcgroup.setup(step(), "../etc", mode="v1")


@pytest.mark.skipif(not ROOT, reason="needs root to drop to another user")
def test_not_root_is_a_clear_error():
    # imports first (the interpreter's files may be unreadable for nobody), then drop the euid
    code = ("import os, sys\n"
            "from backends.native.launch import devcgroup\n"
            "os.setegid(65534); os.seteuid(65534)\n"
            "try:\n"
            "    devcgroup.setup({'common': [], 'matches': []}, 'snap.x.y')\n"
            "except devcgroup.DeviceCgroupError as e:\n"
            "    print(e.layer, e, sep='|')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    layer, _, message = out.stdout.strip().partition("|")
    assert layer == "root" and "needs root (running as uid 65534)" in message, out


def test_bad_rules_are_refused_before_the_kernel_sees_them():
    with pytest.raises(ValueError):
        devcgroup._keys("x", 1, 3)
    with pytest.raises(ValueError):
        devcgroup._keys("c", "*", 3)
    with pytest.raises(ValueError):
        devcgroup._access("rwx")
    assert devcgroup._keys("a", 1, "*") == [("c", 1, "*"), ("b", 1, "*")]


@pytest.mark.parametrize("mode", MODES)
def test_a_stale_directory_of_a_dead_run_is_replaced(mode, cgroups):
    parent = os.path.join(devcgroup.find_mounts()[mode], "confine")
    os.makedirs(parent, exist_ok=True)
    dead = 2 ** 22 + 12345          # above pid_max's default: never a live pid
    stale = os.path.join(parent, f"snap.devtest.app.{dead}")
    os.mkdir(stale)
    try:
        assert stale in devcgroup.remove_stale(devcgroup.find_mounts()[mode])
        os.mkdir(stale)
        cg = devcgroup.setup(step({"/dev/null"}), "snap.devtest.app", mode=mode, run_id=dead)
        cgroups.append(cg)
        assert cg.path == stale and cg.rule_lines() == ["c 1:3 rwm"]
    finally:
        if os.path.isdir(stale) and not cgroups:
            os.rmdir(stale)
