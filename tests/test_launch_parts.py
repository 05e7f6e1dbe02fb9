"""Parts of the launcher without a launch: profile checks, safe directory creation
in a shared /tmp, the JSON reader, users and the environment."""
from __future__ import annotations

import os

import pytest

from backends.native.launch import env, mounts, runner, users, verify

ROOT = os.geteuid() == 0


def test_read_trusted_checks_owner_mode_and_parents(tmp_path):
    f = tmp_path / "p.json"
    f.write_text("{}")
    f.chmod(0o644)
    assert verify.read_trusted(str(f), "test", (os.geteuid(),), set()) == b"{}"
    f.chmod(0o646)
    with pytest.raises(verify.ProfileError, match="writable by others"):
        verify.read_trusted(str(f), "test", (os.geteuid(),), set())
    f.chmod(0o644)
    tmp_path.chmod(0o775)
    with pytest.raises(verify.ProfileError, match="directory above the profiles is writable by group"):
        verify.read_trusted(str(f), "test", (os.geteuid(),), set())
    tmp_path.chmod(0o1777)                       # sticky, as /tmp: accepted
    assert verify.read_trusted(str(f), "test", (os.geteuid(),), set()) == b"{}"
    tmp_path.chmod(0o755)
    (tmp_path / "d").mkdir()
    with pytest.raises(verify.ProfileError, match="not a regular file"):
        verify.read_trusted(str(tmp_path / "d"), "test", (os.geteuid(),), set())


@pytest.mark.skipif(not ROOT, reason="needs root to chown")
def test_read_trusted_refuses_a_foreign_owner(tmp_path):
    f = tmp_path / "p"
    f.write_text("x")
    os.chown(f, 65534, 65534)
    with pytest.raises(verify.ProfileError, match=r"owned by nobody \(uid 65534\), not root"):
        verify.read_trusted(str(f), "test", (0,), set())


def test_check_fresh(tmp_path):
    src, out = tmp_path / "a.src", tmp_path / "a.bin"
    src.write_text("policy\n")
    out.write_bytes(b"x" * 8)
    stamp = tmp_path / "a.bin.sha256"
    with pytest.raises(verify.ProfileError, match="has no stamp"):
        verify.check_fresh(str(out), b"", str(src), str(stamp), "seccomp")
    import hashlib
    stamp.write_text(hashlib.sha256(b"policy\n").hexdigest())
    verify.check_fresh(str(out), b"", str(src), str(stamp), "seccomp")
    src.write_text("policy 2\n")
    with pytest.raises(verify.ProfileError, match="stale"):
        verify.check_fresh(str(out), b"", str(src), str(stamp), "seccomp")


def test_source_has_denials(tmp_path):
    s = tmp_path / "s"
    s.write_text("# ~comment\nread\n")
    assert not verify.source_has_denials(str(s))
    s.write_text("read\n  ~ptrace\n")
    assert verify.source_has_denials(str(s))
    s.write_text("~ioctl - TIOCSTI\n@unrestricted\n")       # no filter at all: no deny filter either
    assert not verify.source_has_denials(str(s))


def test_secure_mkdirs(tmp_path):
    fd = mounts.secure_mkdirs(str(tmp_path), "a/b/c", 0o750)
    try:
        assert os.path.samestat(os.fstat(fd), os.stat(tmp_path / "a" / "b" / "c"))
    finally:
        os.close(fd)
    assert oct(os.stat(tmp_path / "a" / "b").st_mode & 0o777) == oct(0o750)
    (tmp_path / "x").mkdir()
    os.symlink(tmp_path / "x", tmp_path / "link")
    with pytest.raises(OSError):
        mounts.secure_mkdirs(str(tmp_path), "link/y")
    assert not (tmp_path / "x" / "y").exists()
    with pytest.raises(OSError):
        mounts.secure_mkdirs(str(tmp_path), "a/../b")


@pytest.mark.skipif(not ROOT, reason="needs root to chown")
def test_secure_mkdirs_refuses_a_directory_of_another_user(tmp_path):
    (tmp_path / "planted").mkdir()
    os.chown(tmp_path / "planted", 65534, 65534)
    with pytest.raises(OSError, match="owned by uid 65534"):
        mounts.secure_mkdirs(str(tmp_path), "planted/x")
    assert not (tmp_path / "planted" / "x").exists()


def test_loads():
    assert runner.loads(b' {"a": [1, 2.5, null, true], "b": "\\u00e9"}\n') == {"a": [1, 2.5, None, True], "b": "é"}
    for bad in (b"{", b"{} x", b"[NaN]", b""):
        with pytest.raises(ValueError):
            runner.loads(bad, "f.json")


def test_environment_keeps_only_session_variables():
    step = {"set": [["A", "1"], ["B", "$A-$USER"], ["HOME", "$REAL_HOME/snap"]], "keep": ["TERM", "LC_*"]}
    values = env.variables({"USER": "u", "REAL_HOME": "/home/u"}, step)
    assert values["B"] == "1-u" and values["HOME"] == "/home/u/snap"
    got = env.environment(step, values, {"TERM": "t", "LC_ALL": "C", "LD_PRELOAD": "x", "LCX": "no", "A": "caller"})
    assert got == {"TERM": "t", "LC_ALL": "C", "A": "1", "B": "1-u", "HOME": "/home/u/snap"}
    with pytest.raises(ValueError, match="unknown variable"):
        env.variables({}, {"set": [["X", "$NOPE"]]})


def test_users():
    me = users.resolve(None)
    assert me.uid == os.getuid()
    nobody = users.resolve("nobody")
    assert (nobody.uid, nobody.name) == (65534, "nobody")
    assert users.resolve("65534").name == "nobody"
    with pytest.raises(users.UserError):
        users.resolve("no-such-user-here")


@pytest.mark.parametrize("target,want", [("hello.hello", ("hello", "hello")), ("hello", ("hello", "hello")),
                                         ("a.b", ("a", "b"))])
def test_split_target(target, want):
    assert runner._split_target(target) == want


@pytest.mark.parametrize("target", ["", ".x", "a/b.c", "a.", "a.-x", "../x"])
def test_split_target_refuses(target):
    with pytest.raises(runner.LaunchError):
        runner._split_target(target)


# ---- the device cgroup joined from inside (the launcher's child) -------------------------

def _devices_line(pid: int) -> str:
    with open(f"/proc/{pid}/cgroup") as f:
        return next((line.strip() for line in f if ":devices:" in line), "")


def _v1_writable() -> bool:
    from backends.native.launch import devcgroup
    m = devcgroup.find_mounts()
    return bool(m["v1"] and m["v1-writable"])


@pytest.mark.skipif(not (ROOT and _v1_writable()), reason="needs root and a writable cgroup v1 devices controller")
def test_a_child_joins_the_v1_device_cgroup_by_itself_and_is_put_back_where_it_came_from():
    from backends.native.launch import devcgroup

    step = {"common": [{"type": "c", "major": 1, "minor": 3, "access": "rwm", "node": "/dev/null"}],
            "matches": []}
    cg = devcgroup.setup(step, "snap.partstest.app", mode="v1")
    pid = 0
    hold_r = hold_w = -1
    try:
        fd = cg.self_attach_fd()
        assert fd is not None and os.get_inheritable(fd) is False       # close-on-exec: never the app's
        rules_before = cg.kernel_rules()
        report_r, report_w = os.pipe()
        hold_r, hold_w = os.pipe()
        pid = os.fork()
        if pid == 0:                     # single-threaded: fork copied one thread
            try:
                devcgroup.join(fd)
                out = []
                for node in ("/dev/null", "/dev/zero"):
                    try:
                        os.close(os.open(node, os.O_RDONLY))
                        out.append("ok")
                    except PermissionError:
                        out.append("EPERM")
                os.write(report_w, " ".join(out).encode())
                os.read(hold_r, 1)       # stay inside until the test lets go
            finally:
                os._exit(0)
        os.close(fd)
        os.close(report_w)
        assert os.read(report_r, 100) == b"ok EPERM"
        os.close(report_r)
        assert cg.pids() == [pid]
        assert _devices_line(pid).endswith(cg.path[len(cg.mount):])
        assert cg.kernel_rules() == rules_before == {"c 1:3 rwm"}
        # removed while the child is still inside: it goes back to this process's cgroup
        cg.remove()
        assert not os.path.exists(cg.path)
        assert _devices_line(pid) == _devices_line(os.getpid())
    finally:
        if pid:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
        for f in (hold_r, hold_w):
            if f >= 0:
                os.close(f)
        cg.remove()


@pytest.mark.skipif(not ROOT, reason="needs root to make a device cgroup")
def test_v2_device_cgroup_has_no_self_join_and_is_attached_by_pid():
    from backends.native.launch import devcgroup

    if not devcgroup.find_mounts()["v2"]:
        pytest.skip("no cgroup2 mount")
    cg = devcgroup.setup({"common": [], "matches": []}, "snap.partstest.app", mode="v2")
    try:
        assert cg.self_attach_fd() is None
    finally:
        cg.remove()
    assert not os.path.exists(cg.path)
