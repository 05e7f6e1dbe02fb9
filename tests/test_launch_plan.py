"""The launch plan: every step of the confined start, in order, with its parameters,
deterministic, for every example app and hook."""
from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from backends.model import App, Snap
from backends.native.launch import STEP_ORDER, PlanError, generate
from backends.native.profiles.context import TagContext
from backends.native.profiles.paths import artifact_paths, private_tmp_dir

from tag_contexts import context, contexts, examples_backend

ISSUE_4_ORDER = ["mount-namespace", "private-tmp", "devpts", "read-only", "masked-paths", "data-directories",
                 "environment", "device-cgroup", "hotplug", "apparmor", "landlock", "no-new-privs", "seccomp", "exec"]


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    return examples_backend(tmp_path_factory.mktemp("plan") / "root")


def steps(plan) -> dict:
    return {s["step"]: s for s in plan["steps"]}


def test_every_step_in_order_for_every_example_app(examples):
    for snap in examples.snaps():
        for ctx in contexts(examples, snap.name):
            plan = generate(ctx, root=examples.root)
            names = [s["step"] for s in plan["steps"]]
            assert names == list(STEP_ORDER), ctx.tag
            assert [n for n in names if n in ISSUE_4_ORDER] == ISSUE_4_ORDER
            assert names.index("verify-profiles") == 0 and names[-1] == "exec"
            assert all(s["why"] for s in plan["steps"])
            assert plan["schema"] == 1 and plan["tag"] == ctx.tag and plan["snap"] == snap.name


def test_deterministic_and_jsonable(examples):
    for ctx in contexts(examples, "webbrowser") + contexts(examples, "containerd-lite"):
        a = json.dumps(generate(ctx, root=examples.root), sort_keys=True)
        b = json.dumps(generate(ctx, root=examples.root), sort_keys=True)
        assert a == b
        assert json.loads(a) == generate(ctx, root=examples.root)


def test_mounts(examples):
    plan = steps(generate(context(examples, "snap.hello.hello"), root=examples.root))
    assert plan["mount-namespace"]["propagation"] == "private" and plan["mount-namespace"]["requires"] == ["mount-namespace"]
    tmp = plan["private-tmp"]
    assert tmp["target"] == "/tmp" and tmp["mode"] == "1777" and tmp["parent"]["mode"] == "0700"
    assert tmp["source"] == str(private_tmp_dir(examples.root, "hello"))
    # the test root lives under /tmp: the snap's directory is kept visible in the private /tmp
    snap_dir = examples.snap("hello").path
    assert tmp["keep-visible"] == ([{"path": snap_dir, "read-only": True}] if snap_dir.startswith("/tmp/") else [])
    pts = plan["devpts"]
    assert "newinstance" in pts["options"] and pts["ptmx"] == {"source": "/dev/pts/ptmx", "target": "/dev/ptmx", "bind": True}
    assert plan["read-only"]["paths"] == ["/proc", "/sys"] and plan["read-only"]["recursive"] is True
    masked = {m["path"]: m for m in plan["masked-paths"]["paths"]}
    for p in ("/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
              "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/proc/acpi", "/proc/asound"):
        assert masked[p]["if-missing"] == "skip", p
    assert masked["/proc/kcore"]["with"] == "/dev/null" and masked["/sys/firmware"]["with"] == "tmpfs-ro"


def test_data_directories_and_environment(examples):
    snap = examples.snap("notes")
    plan = steps(generate(context(examples, "snap.notes.notes"), root=examples.root))
    env = dict(plan["environment"]["set"])
    for name in ("SNAP", "SNAP_NAME", "SNAP_INSTANCE_NAME", "SNAP_REVISION", "SNAP_DATA", "SNAP_COMMON",
                 "SNAP_USER_DATA", "SNAP_USER_COMMON", "SNAP_REAL_HOME", "HOME", "PATH", "TMPDIR", "XDG_RUNTIME_DIR"):
        assert name in env, name
    assert env["SNAP"] == snap.path and env["SNAP_NAME"] == "notes" and env["SNAP_REVISION"] == snap.revision
    assert env["HOME"] == "$SNAP_USER_DATA" and env["SNAP_REAL_HOME"] == "$REAL_HOME" and env["TMPDIR"] == "/tmp"
    assert env["SNAP_USER_DATA"] == f"$REAL_HOME/snap/notes/{snap.revision}"
    assert env["PATH"].startswith("$SNAP/usr/sbin:") and env["PATH"].endswith(":/usr/bin:/sbin:/bin")
    # a variable refers only to inputs or variables set before it
    known = {"UID", "GID", "USER", "REAL_HOME"}
    for name, value in plan["environment"]["set"]:
        for ref in [w.split("/")[0].split(":")[0] for w in value.split("$")[1:]]:
            assert ref in known, (name, ref)
        known.add(name)
    assert "LD_PRELOAD" not in plan["environment"]["keep"] and "TERM" in plan["environment"]["keep"]
    dirs = {d["path"]: d for d in plan["data-directories"]["directories"]}
    assert dirs["$SNAP_DATA"] == {"path": "$SNAP_DATA", "owner": "root", "mode": "0755"}
    assert dirs["$SNAP_USER_DATA"]["owner"] == "user" and dirs["$REAL_HOME/snap"]["mode"] == "0700"
    order = list(dirs)
    assert order.index("$REAL_HOME/snap") < order.index(f"$REAL_HOME/snap/notes") < order.index("$SNAP_USER_DATA")


def test_device_cgroup_and_hotplug(examples):
    plan = steps(generate(context(examples, "snap.snapshot-camera.snapshot-camera"), root=examples.root))
    cg = plan["device-cgroup"]
    nodes = {(d["node"], d["major"], d["minor"]) for d in cg["common"]}
    assert {("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7), ("/dev/random", 1, 8),
            ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0), ("/dev/ptmx", 5, 2), ("/dev/pts/*", 136, "*")} <= nodes
    assert cg["matches"] == [{"subsystem": "video4linux", "kernel": "video[0-9]*", "interfaces": ["camera"]}]
    assert cg["requires"] == ["cgroup-v1-devices", "cgroup-v2-device-bpf"] and cg["remove-on-exit"] is True
    assert "skip" not in cg
    assert plan["hotplug"]["matches"] == cg["matches"] and "skip" not in plan["hotplug"]
    hello = steps(generate(context(examples, "snap.hello.hello"), root=examples.root))
    assert "skip" not in hello["device-cgroup"] and hello["device-cgroup"]["matches"] == []
    assert hello["hotplug"]["skip"] == "no device matches: nothing to watch"


def test_interfaces_that_manage_devices_skip_the_device_cgroup(examples):
    daemon = steps(generate(context(examples, "snap.containerd-lite.daemon"), root=examples.root))
    assert "controls-device-cgroup" in daemon["device-cgroup"]["skip"]
    assert "controls-device-cgroup" in daemon["hotplug"]["skip"]
    ctl = steps(generate(context(examples, "snap.containerd-lite.ctl"), root=examples.root))
    assert "skip" not in ctl["device-cgroup"]


def test_security_layers(examples):
    ctx = context(examples, "snap.nettool.nettool")
    plan = generate(ctx, root=examples.root)
    s = steps(plan)
    paths = artifact_paths(examples.root, ctx.tag, "nettool")
    assert s["apparmor"]["label"] == ctx.tag and s["apparmor"]["mode"] == "enforce"
    assert s["apparmor"]["profile"] == str(paths["apparmor"]) and s["apparmor"]["requires"] == ["apparmor-kernel"]
    assert s["landlock"]["rules"] == str(paths["landlock"])
    assert s["no-new-privs"]["prctl"] == "PR_SET_NO_NEW_PRIVS"
    assert s["seccomp"]["order"] == ["deny", "allow"]
    assert s["seccomp"]["deny"] == {"path": str(paths["seccomp-deny"]), "flags": []}
    assert s["seccomp"]["allow"] == {"path": str(paths["seccomp"]), "flags": ["log"]}
    verified = {f["path"] for f in s["verify-profiles"]["files"]}
    assert {str(paths[k]) for k in ("launch", "landlock", "seccomp", "seccomp-deny")} <= verified
    assert plan["artifacts"] == {k: str(v) for k, v in paths.items()}


def test_exec_resolves_the_command_inside_the_snap(examples):
    for snap in examples.snaps():
        for ctx in contexts(examples, snap.name):
            ex = steps(generate(ctx, root=examples.root))["exec"]
            assert ex["program"].startswith(snap.path + "/")
            assert os.path.isfile(ex["program"]), ex["program"]
            assert ex["append-user-args"] is True


def _ctx(command="bin/run --flag 'a b'", confinement="strict", hook=None) -> TagContext:
    app = App("t", "run", command)
    snap = Snap(name="t", version="1", revision="x3", path="/srv/t/x3", confinement=confinement,
                apps={"run": app})
    tag = f"snap.t.hook.{hook}" if hook else "snap.t.run"
    return TagContext(tag, snap, None if hook else "run", hook, "classic")


def test_command_arguments_hooks_and_escapes(tmp_path):
    ex = steps(generate(_ctx(), root=tmp_path))["exec"]
    assert ex["program"] == "/srv/t/x3/bin/run" and ex["args"] == ["--flag", "a b"]
    assert steps(generate(_ctx(hook="configure"), root=tmp_path))["exec"]["program"] == "/srv/t/x3/meta/hooks/configure"
    for bad in ("../../bin/sh", "/bin/sh", "bin/../../x", ""):
        with pytest.raises(PlanError):
            generate(_ctx(bad), root=tmp_path)
    assert steps(generate(_ctx(), root=tmp_path))["private-tmp"]["keep-visible"] == []


def test_classic_and_devmode(tmp_path):
    classic = generate(_ctx(confinement="classic"), root=tmp_path)
    s = steps(classic)
    assert [x["step"] for x in classic["steps"]] == list(STEP_ORDER)
    for name in ("mount-namespace", "private-tmp", "devpts", "read-only", "masked-paths", "device-cgroup",
                 "hotplug", "apparmor", "landlock", "no-new-privs", "seccomp"):
        assert "classic" in s[name]["skip"], name
    for name in ("data-directories", "environment", "switch-user", "exec"):
        assert "skip" not in s[name], name
    dev = steps(generate(_ctx(confinement="devmode"), root=tmp_path))
    assert dev["apparmor"]["mode"] == "complain" and "devmode" in dev["landlock"]["skip"]
    assert "skip" not in dev["seccomp"] and "skip" not in dev["mount-namespace"]


def test_plan_follows_the_snap_revision(examples):
    ctx = context(examples, "snap.hello.hello")
    newer = replace(ctx, snap=replace(ctx.snap, revision="x9"))
    a, b = generate(ctx, root=examples.root), generate(newer, root=examples.root)
    assert dict(steps(b)["environment"]["set"])["SNAP_REVISION"] == "x9"
    assert a != b


def test_artifact_paths_layout(tmp_path):
    p = artifact_paths(tmp_path, "snap.s.app", "s")
    base = tmp_path / "profiles"
    assert p["apparmor"] == base / "apparmor" / "snap.s.app"
    assert p["seccomp"] == base / "seccomp" / "snap.s.app.bin"
    assert p["seccomp-deny"] == base / "seccomp" / "snap.s.app.deny.bin"
    assert p["landlock"] == base / "landlock" / "snap.s.app.json"
    assert p["launch"] == base / "launch" / "snap.s.app.json"
    assert p["udev"] == base / "udev" / "70-snap.s.rules"
    assert p["modules"] == base / "modules" / "snap.s.conf"
    assert set(artifact_paths(tmp_path, None, "s")) == {"udev", "modules"}
    with pytest.raises(ValueError):
        artifact_paths(tmp_path, "snap.other.app", "s")
    assert isinstance(p["launch"], Path)


def test_interfaces_that_grant_mounting_leave_the_filesystem_to_other_layers(examples, tmp_path):
    """Landlock refuses mount, umount and pivot_root to every process whose domain restricts
    the filesystem, so for an app whose interfaces let it mount (their data says `landlock:
    {mount: true}`) the Landlock step restricts no path, only TCP and scopes, and the plan
    says which interface is why; the other steps stay."""
    daemon = steps(generate(context(examples, "snap.containerd-lite.daemon"), root=examples.root))
    assert "skip" not in daemon["landlock"]
    assert daemon["landlock"]["filesystem"].startswith(
        "not restricted: Landlock forbids every mount to a process whose domain restricts the filesystem, "
        "and docker-support grants mounting")
    assert "skip" not in daemon["mount-namespace"] and "skip" not in daemon["no-new-privs"]
    for tag in ("snap.containerd-lite.ctl", "snap.container-client.client", "snap.nettool.nettool",
                "snap.vm-manager.vm-manager"):
        step = steps(generate(context(examples, tag), root=examples.root))["landlock"]
        assert "skip" not in step and "filesystem" not in step, tag
    # the mechanism reads the data only: any interface may say it, and several are named
    from backends.native.profiles.context import Grant
    grants = tuple(Grant(name, "connected-plug", f"t:{name}", f":{name}", ("unconfined",), body)
                   for name, body in (("zz-mounter", {"landlock": {"mount": True}, "seccomp": "mount\n"}),
                                      ("aa-mounter", {"landlock": {"mount": True}}),
                                      ("other", {"landlock": {"network": ["connect"]}})))
    s = steps(generate(replace(_ctx(), grants=grants), root=tmp_path))
    assert "aa-mounter and zz-mounter grant mounting" in s["landlock"]["filesystem"]
    assert "skip" not in s["seccomp"] and "skip" not in s["capabilities"]
    # classic and devmode keep their own reasons
    classic = steps(generate(replace(_ctx(confinement="classic"), grants=grants), root=tmp_path))
    assert "classic" in classic["landlock"]["skip"]
