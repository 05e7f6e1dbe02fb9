"""Hotplug on the real kernel: a loop device made with LOOP_CTL_ADD while a child
runs in the device cgroup is allowed when it appears (the child can open it) and
revoked when it goes (a node with its number gives EPERM again), with cgroup v1
and with a cgroup v2 BPF program (forced). Every loop device, monitor, cgroup
and child is removed by the fixtures, also when an assertion fails."""
from __future__ import annotations

import os
import threading

import pytest

from backends.native.launch import devcgroup, hotplug

from devcgroup_support import MODES, Loops, Prober, loop_number

TIMEOUT = 10.0
LOOP_MATCH = {"subsystem": "block", "kernel": "loop*", "interfaces": ["test"]}


def steps(matches) -> tuple[dict, dict]:
    cg_step = {"step": "device-cgroup", "common": [{"node": "/dev/null", "type": "c", "major": 1, "minor": 3}],
               "matches": matches, "access": "rwm"}
    return cg_step, {"step": "hotplug", "matches": matches}


@pytest.fixture
def env():
    """Records what a test made; removes it all afterwards, in reverse order of need."""
    made = {"monitors": [], "loops": Loops(), "kids": [], "cgroups": [], "nodes": []}
    yield made
    errors = []
    for m in made["monitors"]:
        try:
            m.stop()
        except Exception as exc:      # keep cleaning
            errors.append(exc)
    for k in made["kids"]:
        k.kill()
    made["loops"].cleanup()
    for cg in made["cgroups"]:
        cg.remove()
        assert not os.path.exists(cg.path)
    for node in made["nodes"]:
        if os.path.lexists(node):
            os.unlink(node)
    assert not errors, errors


def start(env, mode, matches):
    cg_step, hp_step = steps(matches)
    cg = devcgroup.setup(cg_step, "snap.hotplug.app", mode=mode)
    env["cgroups"].append(cg)
    kid = Prober()
    env["kids"].append(kid)
    cg.attach(kid.pid)
    mon = hotplug.start(hp_step, cg)
    env["monitors"].append(mon)
    assert mon.synced.wait(TIMEOUT) and mon.error is None
    return cg, kid, mon


def node_for(env, tmp_path, n) -> str:
    """A block node with the number loop `n` has (or will have), outside /dev. Opening
    it where allowed creates loop `n` (the loop driver's probe on open), so the
    index is also cleaned up."""
    if n not in env["loops"].indices:
        env["loops"].indices.append(n)
    major, minor = loop_number(n)
    path = str(tmp_path / f"loop{n}")
    os.mknod(path, 0o060600, os.makedev(major, minor))
    env["nodes"].append(path)
    return path


def for_loop(n, result):
    return lambda e: (e["devpath"] or "").endswith(f"/block/loop{n}") and e["result"] == result


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("matches", [[LOOP_MATCH],
                                     [dict(LOOP_MATCH, attrs={"ro": "0", "removable": "0"})]],
                         ids=["kernel", "attrs"])
def test_a_loop_device_is_allowed_while_present(mode, matches, env, tmp_path):
    cg, kid, mon = start(env, mode, matches)
    assert kid.open("/dev/loop0") == "ok"                   # matched at setup among /sys's devices
    loops = env["loops"]
    n = loops.free_index()
    major, minor = loop_number(n)
    node = node_for(env, tmp_path, n)
    assert kid.open(node) == "EPERM"                         # before: no such device, and denied

    since = mon.count
    assert loops.add(n) == n
    event = mon.wait_for(for_loop(n, "allowed"), TIMEOUT, since)
    assert event is not None, list(mon.events)
    assert event["number"] == ("b", major, minor) and event["action"] == "add"
    assert open(f"/sys/block/loop{n}/dev").read().strip() == f"{major}:{minor}"
    assert f"b {major}:{minor} rwm" in cg.kernel_rules()
    assert kid.open(node, "rw") == "ok"                      # after: allowed in the running child
    assert kid.open(f"/dev/loop{n}") == "ok"                 # (devtmpfs made its node)
    assert "hotplug, matched by subsystem=block kernel=loop*" in cg.explain()

    since = mon.count
    loops.remove(n)
    event = mon.wait_for(for_loop(n, "revoked"), TIMEOUT, since)
    assert event is not None and event["action"] == "remove", list(mon.events)
    assert f"b {major}:{minor} rwm" not in cg.kernel_rules()
    assert f"/devices/virtual/block/loop{n}" not in cg.devices
    # the cgroup check comes before the driver's lookup: EPERM, not ENXIO, once revoked
    assert kid.open(node) == "EPERM"
    assert kid.open("/dev/loop0") == "ok"                   # the others stay


@pytest.mark.parametrize("mode", MODES)
def test_a_device_that_comes_back_is_allowed_again(mode, env, tmp_path):
    cg, kid, mon = start(env, mode, [LOOP_MATCH])
    loops = env["loops"]
    n = loops.add()
    node = node_for(env, tmp_path, n)
    assert mon.wait_for(for_loop(n, "allowed"), TIMEOUT) is not None
    assert kid.open(node) == "ok"
    since = mon.count
    loops.remove(n)
    assert mon.wait_for(for_loop(n, "revoked"), TIMEOUT, since) is not None
    assert kid.open(node) == "EPERM"
    since = mon.count
    assert loops.add(n) == n                                  # the same index again
    assert mon.wait_for(for_loop(n, "allowed"), TIMEOUT, since) is not None
    assert kid.open(node, "rw") == "ok"


@pytest.mark.parametrize("mode", MODES)
def test_a_device_that_does_not_match_stays_denied(mode, env, tmp_path):
    cg, kid, mon = start(env, mode, [dict(LOOP_MATCH, kernel="loop0")])
    n = env["loops"].add()
    event = mon.wait_for(lambda e: (e["devpath"] or "").endswith(f"/loop{n}"), TIMEOUT)
    assert event is not None and event["result"] == "not matched", list(mon.events)
    assert kid.open(f"/dev/loop{n}") == "EPERM"
    assert kid.open("/dev/loop0") == "ok"


@pytest.mark.parametrize("mode", MODES)
def test_a_device_added_before_the_monitor_starts_is_caught_by_its_rescan(mode, env):
    cg_step, hp_step = steps([LOOP_MATCH])
    cg = devcgroup.setup(cg_step, "snap.hotplug.app", mode=mode)
    env["cgroups"].append(cg)
    n = env["loops"].add()                                    # between setup and start
    mon = hotplug.start(hp_step, cg)
    env["monitors"].append(mon)
    assert mon.wait_for(lambda e: e["action"] == "rescan" and for_loop(n, "allowed")(e), TIMEOUT) is not None
    kid = Prober()
    env["kids"].append(kid)
    cg.attach(kid.pid)
    assert kid.open(f"/dev/loop{n}") == "ok"


def test_stop_joins_the_thread_and_start_skips():
    cg_step, hp_step = steps([LOOP_MATCH])
    assert hotplug.start(dict(hp_step, skip="classic"), None) is None
    assert hotplug.start({"matches": []}, None) is None
    assert hotplug.start(hp_step, None) is None


@pytest.mark.parametrize("mode", MODES)
def test_monitor_thread_is_named_and_stops(mode, env):
    cg_step, hp_step = steps([LOOP_MATCH])
    cg = devcgroup.setup(cg_step, "snap.hotplug.app", mode=mode)
    env["cgroups"].append(cg)
    mon = hotplug.start(hp_step, cg)
    env["monitors"].append(mon)
    assert mon.synced.wait(TIMEOUT)
    names = [t.name for t in threading.enumerate() if t.daemon]
    assert "confine-hotplug snap.hotplug.app" in names and mon.running
    mon.stop()
    assert not mon.running
    mon.stop()                                                # idempotent
    assert "confine-hotplug snap.hotplug.app" not in [t.name for t in threading.enumerate()]
    assert "NETLINK_KOBJECT_UEVENT" in mon.explain()


def test_parse_uevent():
    data = (b"add@/devices/virtual/block/loop9\0ACTION=add\0DEVPATH=/devices/virtual/block/loop9\0"
            b"SUBSYSTEM=block\0MAJOR=7\0MINOR=9\0DEVNAME=loop9\0DEVTYPE=disk\0SEQNUM=42\0")
    props = hotplug.parse_uevent(data)
    assert props["ACTION"] == "add" and props["MAJOR"] == "7" and props["DEVNAME"] == "loop9"
    assert hotplug.parse_uevent(b"libudev\0\xfe\xed\xca\xfe") is None
    assert hotplug.parse_uevent(b"remove@/devices/x\0")["ACTION"] == "remove"
