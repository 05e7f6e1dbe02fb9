"""`confine run` on this kernel: real confined processes, checked from inside.

The examples are installed once into a scratch root; each test runs the hello
app (or /bin/sh in its sandbox with --shell) and looks at what the app sees.
Processes run in a session of their own and are killed by group id if a test
fails; device cgroups and the data directories the runs create on the host are
removed afterwards.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from launch_support import (REPO, ROOT_USER, STARTED, HostDirs, confine_run, install_examples, kill_group,
                            cgroups_checked, run_cgroups)

pytestmark = pytest.mark.skipif(not ROOT_USER, reason="confine run as root needs root (these tests start as root)")

TAG = "snap.hello.hello"
STEPS = ("verify-profiles", "mount-namespace", "private-tmp", "devpts", "read-only", "masked-paths",
         "data-directories", "environment", "device-cgroup", "hotplug", "apparmor", "landlock", "capabilities", "switch-user",
         "no-new-privs", "seccomp", "exec")


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    r = tmp_path_factory.mktemp("launch") / "root"
    install_examples(r)
    return r


@pytest.fixture(scope="module", autouse=True)
def host_dirs():
    dirs = HostDirs(["hello", "snapshot-camera", "sysmon"])
    yield dirs
    dirs.cleanup()


@pytest.fixture(autouse=True)
def no_cgroup_left():
    """No run of this test leaves its device cgroup behind (they are named after the
    supervisor's pid; runs of others going on meanwhile are not looked at)."""
    with cgroups_checked(TAG):
        yield


def sh(root: Path, script: str, *extra: str, **kw) -> subprocess.CompletedProcess:
    return confine_run(root, *extra, "--shell", "hello.hello", "--", "-c", script, **kw)


def status_fields(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        k, sep, v = line.partition(":")
        if sep:
            out[k] = v.strip()
    return out


# ---- the app runs --------------------------------------------------------------------------

def test_hello_prints_its_greeting(root):
    p = confine_run(root, "hello.hello")
    assert p.returncode == 0, p.stderr
    assert "Hello from a confined app" in p.stdout
    assert "SNAP_NAME: hello" in p.stdout
    assert "seccomp: filter" in p.stdout and "no_new_privs: 1" in p.stdout
    assert "ok write $SNAP_USER_DATA/hello.txt" in p.stdout
    assert "denied list real home /root (needs home)" in p.stdout      # Landlock: no home plug


def test_the_cli_wires_run():
    """backends/cli.py hands `run` to cli_run (the lead wires it)."""
    from backends.cli import build_parser

    try:
        args = build_parser().parse_args(["--root", "/r", "run", "--shell", "hello.hello", "--", "-c", "true"])
    except SystemExit:
        pytest.fail("backends/cli.py does not call backends.cli_run.add_commands yet", pytrace=False)
    assert args.target == "hello.hello" and args.shell


def test_status_shows_seccomp_filter_and_no_new_privs(root):
    p = sh(root, "cat /proc/self/status")
    assert p.returncode == 0, p.stderr
    f = status_fields(p.stdout)
    assert f["Seccomp"] == "2"
    assert f["Seccomp_filters"] == "2"          # the deny filter and the allow filter
    assert f["NoNewPrivs"] == "1"
    assert f["Uid"].split() == ["0"] * 4


def test_own_mount_namespace(root):
    p = sh(root, "readlink /proc/self/ns/mnt")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().startswith("mnt:[")
    assert p.stdout.strip() != os.readlink("/proc/self/ns/mnt")


def test_host_tmp_is_invisible(root):
    fd, marker = tempfile.mkstemp(prefix="confine-host-marker-", dir="/tmp")
    os.close(fd)
    try:
        p = sh(root, f'test -e {marker} && echo visible || echo invisible; echo $TMPDIR; '
                     'echo private > /tmp/confine-private-file && cat /tmp/confine-private-file')
        assert p.returncode == 0, p.stderr
        assert p.stdout.split() == ["invisible", "/tmp", "private"]
        assert not os.path.exists("/tmp/confine-private-file")              # not the host's /tmp
        assert (root / "tmp" / "snap.hello" / "tmp" / "confine-private-file").exists()   # the snap's own
    finally:
        os.unlink(marker)
    st = os.stat(root / "tmp" / "snap.hello")
    assert stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == 0
    st = os.stat(root / "tmp" / "snap.hello" / "tmp")
    assert stat.S_IMODE(st.st_mode) == 0o1777


def test_proc_sys_and_sys_are_read_only(root):
    p = sh(root, "echo 1 > /proc/sys/kernel/ns_last_pid; echo rc=$?; "
                 "echo x > /sys/kernel/mm/transparent_hugepage/enabled; echo rc=$?")
    assert "Read-only file system" in p.stderr
    assert p.stdout.split() == ["rc=2", "rc=2"]


def test_masked_paths(root):
    present = [p for p in ("/proc/keys", "/proc/timer_list", "/proc/kcore") if os.path.exists(p)]
    dirs = [p for p in ("/proc/acpi", "/sys/firmware") if os.path.exists(p)]
    if not present and not dirs:
        pytest.skip("none of the masked paths exists on this kernel")
    script = "; ".join([f"stat -c '%n %t:%T %s' {p}" for p in present] +
                       [f"stat -f -c '%n %T' {d}; ls -A {d} | wc -l" for d in dirs])
    p = sh(root, script)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    for path in present:
        assert f"{path} 1:3 0" in lines            # /dev/null bound over it
    for d in dirs:
        i = lines.index(f"{d} tmpfs")
        assert lines[i + 1] == "0"                  # an empty tmpfs
    assert not os.path.exists("/proc/kcore")        # this kernel: absent, and said so by --explain


def test_devpts_is_a_new_instance(root):
    host_pts = os.stat("/dev/pts").st_dev
    p = sh(root, "stat -c %d /dev/pts; stat -c %d /dev/ptmx; ls -A /dev/pts; "
                 "grep ' /dev/pts ' /proc/self/mountinfo | tail -1")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert int(lines[0]) != host_pts
    assert lines[1] == lines[0]                     # /dev/ptmx is the new instance's ptmx
    assert lines[2] == "ptmx"                       # no pty of the host
    assert "newinstance" not in lines[-1] or "devpts" in lines[-1]
    assert "ptmxmode=666" in lines[-1]


def test_environment(root):
    env = dict(os.environ, LD_PRELOAD="/nonexistent/evil.so", CONFINE_TEST_SECRET="x", TERM="xterm-test",
               LC_TIME="C", PATH="/evil:/usr/bin:/bin")
    p = sh(root, "env", env=env)
    assert p.returncode == 0, p.stderr
    got = dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)
    snap_dir = str(root / "snaps" / "hello" / "x1")
    assert got["SNAP"] == snap_dir
    assert got["SNAP_NAME"] == "hello" and got["SNAP_INSTANCE_NAME"] == "hello"
    assert got["SNAP_REVISION"] == "x1"
    assert got["SNAP_DATA"] == "/var/snap/hello/x1"
    assert got["SNAP_COMMON"] == "/var/snap/hello/common"
    assert got["SNAP_USER_DATA"] == "/root/snap/hello/x1"
    assert got["SNAP_USER_COMMON"] == "/root/snap/hello/common"
    assert got["HOME"] == "/root/snap/hello/x1"
    assert got["TMPDIR"] == "/tmp"
    assert got["PATH"].startswith(f"{snap_dir}/usr/sbin:") and "/evil" not in got["PATH"]
    assert got["TERM"] == "xterm-test" and got["LC_TIME"] == "C"            # session variables kept
    assert "LD_PRELOAD" not in got and "CONFINE_TEST_SECRET" not in got and "PYTHONPATH" not in got


def test_data_directories_created_with_owner_and_mode(root):
    p = sh(root, "true")
    assert p.returncode == 0, p.stderr
    for path, mode in (("/var/snap/hello", 0o755), ("/var/snap/hello/x1", 0o755),
                       ("/var/snap/hello/common", 0o755), ("/root/snap/hello/x1", 0o755),
                       ("/root/snap/hello/common", 0o755)):
        st = os.stat(path)
        assert stat.S_ISDIR(st.st_mode) and st.st_uid == 0, path
        assert stat.S_IMODE(st.st_mode) == mode, path


@pytest.fixture
def public_tmp():
    """A directory under /tmp that every user may traverse (pytest's are 0700)."""
    d = tempfile.mkdtemp(prefix="confine-launch-")
    os.chmod(d, 0o755)
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


def test_data_directories_of_another_user(root, public_tmp):
    """Owner "user" directories are made by that user (not chowned by root) in their home."""
    import traceback

    from backends.native.launch import runner

    home = public_tmp / "home-nobody"
    home.mkdir()
    os.chown(home, 65534, 65534)
    pid = os.fork()
    if pid == 0:                                    # a child: Launch changes nothing until child()
        code = 1
        try:
            launch = runner.Launch(str(root), "hello.hello", user="nobody")
            launch.user.home = str(home)
            launch.variables = runner._variables({"UID": "65534", "GID": "65534", "USER": "nobody",
                                                  "REAL_HOME": str(home)}, launch.specs["environment"])
            launch.decide()
            unit = launch.unit("data-directories")
            unit.todo = [t for t in unit.todo if t[1] == "user"]
            unit.child()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    for rel, mode in (("snap", 0o700), ("snap/hello", 0o755), ("snap/hello/x1", 0o755),
                      ("snap/hello/common", 0o755)):
        st = os.stat(home / rel)
        assert (st.st_uid, st.st_gid) == (65534, 65534), rel
        assert stat.S_IMODE(st.st_mode) == mode, rel


def test_user_nobody(root):
    p = sh(root, "id -u; id -g; grep -E '^(Uid|Gid|CapEff)' /proc/self/status", "--user", "nobody")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[:2] == ["65534", "65534"]
    f = status_fields("\n".join(lines[2:]))
    assert f["Uid"].split() == ["65534"] * 4
    assert f["CapEff"] == "0000000000000000"


def test_unknown_user_is_refused(root):
    p = confine_run(root, "--user", "no-such-user-here", "hello.hello")
    assert p.returncode == 1
    assert "no-such-user-here: no such user" in p.stderr


def test_landlock_denies_writes_outside_the_allowed_paths(root):
    # as root: permissions would allow every one of these writes; only Landlock refuses
    p = sh(root, "for f in /var/tmp/confine-ll-test /etc/confine-ll-test /root/confine-ll-test; do "
                 "  (echo x > $f) 2>/dev/null && echo wrote $f || echo denied $f; done; "
                 "echo ok > $SNAP_USER_DATA/ll && cat $SNAP_USER_DATA/ll")
    try:
        assert p.stdout.split("\n")[:3] == ["denied /var/tmp/confine-ll-test", "denied /etc/confine-ll-test",
                                            "denied /root/confine-ll-test"]
        assert p.stdout.split("\n")[3] == "ok"
    finally:
        for f in ("/var/tmp/confine-ll-test", "/etc/confine-ll-test", "/root/confine-ll-test"):
            if os.path.exists(f):
                os.unlink(f)


def test_exit_status_is_the_apps(root):
    assert sh(root, "exit 7").returncode == 7
    assert sh(root, "kill -KILL $$").returncode == 128 + signal.SIGKILL


def test_arguments_reach_the_app(root):
    p = confine_run(root, "hello.hello", "--help")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("usage: hello")


def test_device_cgroup_holds_the_app_and_goes_away(root):
    p = sh(root, "grep -E ':devices:|^0::' /proc/self/cgroup")
    assert p.returncode == 0, p.stderr
    assert f"/confine/{TAG}." in p.stdout
    # the autouse fixture checks that no cgroup of the run is left


@pytest.mark.parametrize("sig", ["TERM", "INT"])
def test_signals_are_forwarded_and_the_cgroup_removed(root, sig):
    cmd = [sys.executable, "-m", "backends.cli_run", "--root", str(root), "run", "--shell", "hello.hello", "--",
           "-c", f"trap 'echo got {sig}; exit 3' {sig}; echo ready; while :; do sleep 0.05; done"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, start_new_session=True)
    STARTED.append(proc.pid)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        assert ready and proc.stdout.readline() == b"ready\n"
        assert run_cgroups(TAG, {proc.pid}), "the app runs in a device cgroup of its own"
        os.kill(proc.pid, getattr(signal, f"SIG{sig}"))     # to the supervisor only
        out, err = proc.communicate(timeout=20)
        assert f"got {sig}".encode() in out, err
        assert proc.returncode == 3
    finally:
        kill_group(proc)


# ---- profiles are verified ------------------------------------------------------------------

@pytest.fixture
def scratch_root(tmp_path) -> Path:
    r = tmp_path / "root"
    install_examples(r)
    return r


def test_capabilities_are_those_the_interfaces_grant(scratch_root):
    """Root in the sandbox keeps only the capabilities of the app's connected
    interfaces' AppArmor rules: none for hello; process-control's for sysmon."""
    from backends.native.launch import capabilities

    def bounding(target):
        p = confine_run(scratch_root, "--shell", target, "--", "-c", "grep -E '^Cap(Bnd|Eff)' /proc/self/status")
        assert p.returncode == 0, p.stderr
        fields = status_fields(p.stdout)
        assert fields["CapBnd"] == fields["CapEff"], fields
        value = int(fields["CapBnd"], 16)
        return {capabilities.NAMES[n] for n in range(64) if value >> n & 1}

    assert bounding("hello.hello") == set()
    subprocess.run([sys.executable, "-m", "backends.cli", "--root", str(scratch_root), "connect",
                    "sysmon:process-control"], check=True, capture_output=True, cwd=REPO)
    plan = json.loads((scratch_root / "profiles" / "launch" / "snap.sysmon.sysmon.json").read_text())
    keep = next(s["keep"] for s in plan["steps"] if s["step"] == "capabilities")
    assert keep and "sys_nice" in keep                       # process-control: renice, kill
    assert bounding("sysmon.sysmon") == set(keep) & capabilities.bounding_set_names()


def test_stale_seccomp_profile_is_refused(scratch_root):
    src = scratch_root / "profiles" / "seccomp" / f"{TAG}.src"
    src.write_text(src.read_text() + "# edited after compiling\n")
    p = confine_run(scratch_root, "hello.hello")
    assert p.returncode == 1
    assert "stale" in p.stderr and f"{TAG}.bin" in p.stderr
    assert "confine doctor --repair" in p.stderr
    assert "Hello" not in p.stdout


def test_group_writable_profile_is_refused(scratch_root):
    f = scratch_root / "profiles" / "seccomp" / f"{TAG}.bin"
    f.chmod(0o664)
    p = confine_run(scratch_root, "hello.hello")
    assert p.returncode == 1
    assert f"{f}: the seccomp profile is writable by group" in p.stderr
    assert "confine doctor --repair" in p.stderr


def test_profile_not_owned_by_root_is_refused(scratch_root):
    f = scratch_root / "profiles" / "landlock" / f"{TAG}.json"
    os.chown(f, 65534, 65534)
    p = confine_run(scratch_root, "hello.hello")
    assert p.returncode == 1
    assert f"{f}: the landlock profile is owned by nobody (uid 65534), not root" in p.stderr


def test_writable_profile_directory_is_refused(scratch_root):
    d = scratch_root / "profiles" / "seccomp"
    d.chmod(0o777)
    p = confine_run(scratch_root, "hello.hello")
    assert p.returncode == 1
    assert f"{d}: the directory above the profiles is writable by group and others" in p.stderr


def test_missing_profile_is_refused(scratch_root):
    f = scratch_root / "profiles" / "landlock" / f"{TAG}.json"
    f.unlink()
    p = confine_run(scratch_root, "hello.hello")
    assert p.returncode == 1
    assert f"{f}: the landlock profile is missing: run `confine doctor --repair`" in p.stderr


def test_symlinked_profile_is_refused(scratch_root, tmp_path):
    f = scratch_root / "profiles" / "seccomp" / f"{TAG}.deny.bin"
    real = tmp_path / "elsewhere.bin"
    shutil.copy(f, real)
    f.unlink()
    f.symlink_to(real)
    p = confine_run(scratch_root, "hello.hello")
    assert p.returncode == 1
    assert "is a symlink" in p.stderr


def test_repair_fixes_a_stale_profile(scratch_root):
    src = scratch_root / "profiles" / "seccomp" / f"{TAG}.src"
    stamp = scratch_root / "profiles" / "seccomp" / f"{TAG}.bin.sha256"
    stamp.write_text("0" * 64)
    assert confine_run(scratch_root, "hello.hello").returncode == 1
    fix = subprocess.run([sys.executable, "-m", "backends.cli", "--root", str(scratch_root), "doctor", "--repair"],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert fix.returncode == 0, fix.stderr
    p = confine_run(scratch_root, "hello.hello")
    assert p.returncode == 0, p.stderr
    assert src.exists()


def test_unknown_app_and_root(scratch_root, tmp_path):
    p = confine_run(scratch_root, "hello.nope")
    assert p.returncode == 1 and "no launch plan for hello.nope" in p.stderr
    p = confine_run(tmp_path / "empty", "hello.hello")
    assert p.returncode == 1 and "no profiles under" in p.stderr
    p = confine_run(scratch_root, "../etc.passwd")
    assert p.returncode == 1 and "name an app as SNAP.APP" in p.stderr


def test_a_failing_step_is_named(scratch_root):
    prog = scratch_root / "snaps" / "hello" / "x1" / "bin" / "hello"
    prog.chmod(0o644)
    p = confine_run(scratch_root, "hello.hello")
    assert p.returncode == 1
    assert f"error: exec: execve {prog}: Permission denied" in p.stderr


# ---- --explain -----------------------------------------------------------------------------

def test_explain_lists_every_step_and_runs_nothing(scratch_root):
    p = confine_run(scratch_root, "--explain", "hello.hello")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("confine run hello.hello: snap.hello.hello (strict, revision x1) as root")
    numbered = [line.split()[1] for line in lines[1:] if line[:3].strip().rstrip(".").isdigit()]
    assert numbered == list(STEPS)
    by_step = {line.split()[1]: line for line in lines[1:] if line[:3].strip().rstrip(".").isdigit()}
    assert "skipped  the kernel has no AppArmor" in by_step["apparmor"]
    assert "skipped  no device matches" in by_step["hotplug"]
    for step in ("mount-namespace", "private-tmp", "devpts", "read-only", "landlock", "seccomp", "no-new-privs"):
        assert " applies " in by_step[step], by_step[step]
    assert "/proc/kcore: skipped: absent" in p.stdout
    assert "Hello" not in p.stdout
    assert not (scratch_root / "tmp").exists()      # no private /tmp made either (and no cgroup: the fixture)


def test_explain_json(scratch_root):
    import json

    p = confine_run(scratch_root, "--explain", "--json", "hello.hello")
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert [s["step"] for s in data["steps"]] == list(STEPS)
    aa = next(s for s in data["steps"] if s["step"] == "apparmor")
    assert aa["status"] == "skipped" and aa["reason"] == "the kernel has no AppArmor"


def test_explain_reports_a_refused_profile(scratch_root):
    (scratch_root / "profiles" / "seccomp" / f"{TAG}.bin").chmod(0o666)
    p = confine_run(scratch_root, "--explain", "hello.hello")
    assert p.returncode == 1
    assert "verify-profiles   error" in p.stdout and "writable by group and others" in p.stdout


# ---- unprivileged, through a user namespace -------------------------------------------------

UNPRIV_DRIVER = r"""
import os, sys
sys.path.insert(0, sys.argv[1])
# everything the launcher needs is loaded before the ids change: the interpreter's
# own files (under /root) are out of reach of uid 65534
from backends.native.launch import runner, steps, mounts, users, verify, env
from backends.native.landlock import apply
from backends.native.seccomp import load
import _signal, grp, pwd
os.setgroups([])
os.setresgid(65534, 65534, 65534)
os.setresuid(65534, 65534, 65534)
os.chdir("/")
mode, root, target, args = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
try:
    code = runner.run(root, target, args, shell=mode == "shell", explain=mode == "explain")
except runner.LaunchError as exc:
    print("error:", exc, file=sys.stderr)
    code = 1
sys.stdout.flush()
os._exit(code)
"""


@pytest.fixture(scope="module")
def public_root():
    """A root that uid 65534 can read (pytest's tmp dirs are 0700)."""
    base = tempfile.mkdtemp(prefix="confine-launch-")
    os.chmod(base, 0o755)
    r = Path(base) / "root"
    install_examples(r)
    yield r
    shutil.rmtree(base, ignore_errors=True)


def unprivileged(root: Path, mode: str, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.Popen([sys.executable, "-c", UNPRIV_DRIVER, str(REPO), mode, str(root), "hello.hello", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            cwd="/")
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        kill_group(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_unprivileged_run_through_a_user_namespace(public_root):
    fd, marker = tempfile.mkstemp(prefix="confine-host-marker-", dir="/tmp")
    os.close(fd)
    try:
        p = unprivileged(public_root, "shell", "-c",
                         f"id -u; readlink /proc/self/ns/mnt; readlink /proc/self/ns/user; cat /proc/self/uid_map; "
                         f"grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; "
                         f"test -e {marker} && echo visible || echo invisible; "
                         "echo x > /proc/sys/kernel/ns_last_pid 2>/dev/null || echo proc-ro; "
                         "(echo x > /var/tmp/confine-unpriv) 2>/dev/null || echo landlock-denied")
    finally:
        os.unlink(marker)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "65534"
    assert lines[1] != os.readlink("/proc/self/ns/mnt")
    assert lines[2] != os.readlink("/proc/self/ns/user")
    assert lines[3].split() == ["65534", "65534", "1"]
    assert sorted(lines[4:6]) == ["NoNewPrivs:\t1", "Seccomp:\t2"]
    assert lines[6:] == ["invisible", "proc-ro", "landlock-denied"]


def test_unprivileged_explain_names_the_steps_that_need_root(public_root):
    p = unprivileged(public_root, "explain")
    assert p.returncode == 0, p.stderr
    by_step = {line.split()[1]: line for line in p.stdout.splitlines()[1:] if line[:3].strip().rstrip(".").isdigit()}
    assert list(by_step) == list(STEPS)
    assert "skipped  needs real root" in by_step["device-cgroup"]
    assert "skipped  runs as the invoking user nobody (uid 65534): switching to another user needs real root" \
        in by_step["switch-user"]
    assert "CLONE_NEWUSER" in by_step["mount-namespace"]
    assert "unprivileged" in p.stdout.splitlines()[0]


def test_unprivileged_may_not_choose_another_user(public_root):
    proc = subprocess.run([sys.executable, "-c", UNPRIV_DRIVER.replace("explain=mode == \"explain\")",
                                                                       "explain=True, user='root')"),
                           str(REPO), "explain", str(public_root), "hello.hello"],
                          capture_output=True, text=True, cwd="/", timeout=30)
    assert proc.returncode == 1
    assert "only root may run an app as another user" in proc.stderr


# ---- the fast path ------------------------------------------------------------------------

HEAVY = ("yaml", "pyseccomp", "pyudev", "textual", "rich", "backends.native.engine",
         "backends.native.interfaces", "backends.native.interfaces.catalogue", "backends.native.manifest",
         "backends.native.launch.plan", "backends.native.landlock.rules", "backends.native.seccomp.compiler",
         "backends.model", "argparse", "json", "hashlib", "typing_extensions",
         # each costs the launch milliseconds: ctypes_lite and _json stand in for the first two
         "ctypes", "re", "typing", "threading", "enum", "struct")


@pytest.mark.parametrize("mode", ["explain", "run"])
def test_fast_path_imports_nothing_heavy(root, mode):
    code = (
        "import sys, io, contextlib\n"
        "before = set(sys.modules)\n"
        "from backends.cli_run import main\n"
        f"args = ['--root', {str(root)!r}, 'run'] + ({mode!r} == 'explain' and ['--explain'] or []) + ['hello.hello']\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    rc = main(args)\n"
        f"heavy = sorted(m for m in {HEAVY!r} if m in sys.modules and m not in before)\n"
        "print(rc, ' '.join(heavy))\n"
    )
    # the Python runner's own fast path (what runs wherever the compiled launcher does not)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60,
                       env=dict(os.environ, CONFINE_LAUNCHER="python"))
    assert p.returncode == 0, p.stderr
    rc, _, heavy = p.stdout.strip().splitlines()[-1].partition(" ")
    assert rc == "0", p.stdout + p.stderr
    assert heavy == "", f"the launcher imported {heavy}"


def test_fast_argument_parser_matches_argparse():
    import argparse

    from backends import cli_run

    parser = argparse.ArgumentParser(prog="confine")
    parser.add_argument("--root")
    sub = parser.add_subparsers(dest="command")
    cli_run.add_commands(sub)
    for argv in (["run", "hello.hello"], ["--root", "/r", "run", "--shell", "hello.hello", "--", "-c", "echo hi"],
                 ["run", "--explain", "--user", "nobody", "hello.hello"], ["--root=/r", "run", "x.y", "--", "a", "b"],
                 ["run", "--user=nobody", "x.y", "a", "--b"]):
        fast = cli_run.parse(argv)
        a = parser.parse_args(argv)
        extra = a.args[1:] if a.args[:1] == ["--"] else a.args
        assert (fast["root"], fast["target"], fast["shell"], fast["explain"], fast["user"], fast["args"]) == \
               (a.root, a.target, a.shell, a.explain, a.user, extra), argv
    assert cli_run.is_run(["--root", "/r", "run", "x"]) and not cli_run.is_run(["list"])
    assert cli_run.main(["run"]) == 2


def test_an_app_with_device_matches_runs_with_its_hotplug_monitor(scratch_root):
    con = subprocess.run([sys.executable, "-m", "backends.cli", "--root", str(scratch_root), "connect",
                          "snapshot-camera:camera"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert con.returncode == 0, con.stderr
    tag = "snap.snapshot-camera.snapshot-camera"
    first = len(STARTED)
    p = confine_run(scratch_root, "--explain", "snapshot-camera")
    assert p.returncode == 0, p.stdout + p.stderr
    by_step = {line.split()[1]: line for line in p.stdout.splitlines()[1:] if line[:3].strip().rstrip(".").isdigit()}
    assert "applies  watch kernel uevents for 1 device matches" in by_step["hotplug"]
    assert "and the devices 1 device matches select" in by_step["device-cgroup"]
    p = confine_run(scratch_root, "--shell", "snapshot-camera", "--", "-c", "grep -c /confine/ /proc/self/cgroup")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "1"
    assert not run_cgroups(tag, set(STARTED[first:]))


def test_deny_filter_absent_only_when_the_source_has_no_denials(scratch_root):
    import hashlib

    d = scratch_root / "profiles" / "seccomp"
    deny, src, stamp = d / f"{TAG}.deny.bin", d / f"{TAG}.src", d / f"{TAG}.bin.sha256"
    deny.unlink()
    p = confine_run(scratch_root, "hello.hello")
    assert p.returncode == 1
    assert f"{deny}: the seccomp profile is missing" in p.stderr
    # a source without `~` lines compiles to no deny filter: then its absence is right
    text = "".join(line for line in src.read_text().splitlines(keepends=True) if not line.lstrip().startswith("~"))
    src.write_text(text)
    stamp.write_text(hashlib.sha256(text.encode()).hexdigest())
    p = sh(scratch_root, "grep -E '^Seccomp(_filters)?:' /proc/self/status")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["Seccomp:", "2", "Seccomp_filters:", "1"]
