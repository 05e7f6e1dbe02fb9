"""The compiled launcher (confine-launch), the fast path of `confine run`: built at
install time, it takes the common launch itself and does what the Python runner
(the reference) does, step for step; everything else it hands to the Python
runner before changing anything.

Parity is checked by running the same shell script inside the sandbox through
both launchers and comparing what the sandbox looks like from inside: ids,
capabilities, seccomp and no_new_privs, the environment, the mount table, the
device cgroup's allow list, /tmp, what Landlock lets it write, exit statuses and
the error of a failing step.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from launch_support import (REPO, ROOT_USER, STARTED, HostDirs, confine_run, install_examples, kill_group,
                            cgroups_checked)

from backends.native.launch import fastpath

pytestmark = pytest.mark.skipif(not ROOT_USER, reason="needs root: a launch makes a device cgroup and a mount namespace")

TAG = "snap.hello.hello"
PYTHON = {"CONFINE_LAUNCHER": "python"}

# What the sandbox looks like from inside; run ids and the run's pid are cut out.
INSIDE = r"""
grep -E '^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp|Seccomp_filters):' /proc/self/status
env | sort
echo "cwd: $(pwd)"
ls -la /tmp | awk '{print $1, $3, $4, $NF}'
grep devices /proc/self/cgroup | sed 's/\.[0-9-]*$//'
cat /sys/fs/cgroup/devices$(grep devices /proc/self/cgroup | cut -d: -f3)/devices.list
cut -d' ' -f4- /proc/self/mountinfo | sed 's/[0-9][0-9]* / /g'
touch /etc/confine-escaped 2>&1; echo "write /etc: $?"
touch "$SNAP_USER_DATA/ok" 2>&1; echo "write SNAP_USER_DATA: $?"
(echo x > /proc/sys/kernel/ns_last_pid) 2>/dev/null; echo "write /proc/sys: $?"
umask
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("compiled")
    os.chmod(base, 0o755)            # nobody must reach the snaps
    r = base / "root"
    install_examples(r)
    return r


@pytest.fixture(scope="module", autouse=True)
def host_dirs():
    dirs = HostDirs(["hello", "notes"], homes=("/root", "/nonexistent"))
    yield dirs
    dirs.cleanup()


@pytest.fixture(autouse=True)
def no_cgroup_left():
    with cgroups_checked():
        yield


def run(root: Path, *args: str, python: bool = False, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    full = dict(os.environ, **(env or {}))
    full.pop("CONFINE_LAUNCHER", None)
    if python:
        full.update(PYTHON)
    return confine_run(root, *args, env=full, cwd="/", **kw)


def both(root: Path, *args: str, **kw) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    return run(root, *args, **kw), run(root, *args, python=True, **kw)


def test_the_install_built_it():
    path = fastpath.binary()
    assert path is not None, fastpath.why_absent()
    st = os.stat(path)
    assert st.st_mode & 0o111 and not st.st_mode & 0o022


@pytest.mark.parametrize("app", ["hello.hello", "notes.notes", "nettool.nettool", "sysmon.sysmon"])
def test_it_takes_the_common_launch_itself(root, app):
    ok, why = fastpath.check(str(root), app)
    assert ok, why


@pytest.mark.parametrize("user", [None, "nobody"])
def test_the_sandbox_is_the_same_from_inside(root, user):
    extra = ["--user", user] if user else []
    compiled, python = both(root, *extra, "--shell", "notes.notes", "--", "-c", INSIDE)
    assert compiled.returncode == python.returncode == 0, compiled.stderr + python.stderr
    assert compiled.stdout == python.stdout
    assert compiled.stderr == python.stderr
    status = dict(line.split(":\t", 1) for line in compiled.stdout.splitlines() if ":\t" in line)
    assert status["NoNewPrivs"] == "1" and status["Seccomp"] == "2" and status["Seccomp_filters"] == "2"
    assert status["CapBnd"] == "0000000000000000"
    lines = compiled.stdout.splitlines()
    assert "write /etc: 1" in lines and "write /proc/sys: 2" in lines
    if user is None:            # nobody's home, /nonexistent, holds no data directory
        assert "write SNAP_USER_DATA: 0" in lines
    assert "SNAP_SECURITY_TAG=snap.notes.notes" in lines
    assert any(line.startswith("5:devices:/confine/snap.notes.notes") or ":devices:/confine/snap.notes.notes" in line
               for line in lines)


def test_arguments_exit_status_and_signals_are_the_app_s(root):
    for script, code in (("exit 7", 7), ("kill -TERM $$", 128 + signal.SIGTERM), ('test "$0 $1 $2" = "sh a b"', 0)):
        compiled, python = both(root, "--shell", "hello.hello", "--", "-c", script, "sh", "a", "b")
        assert compiled.returncode == python.returncode == code, (script, compiled.stderr, python.stderr)


def test_hello_runs_its_command_with_user_args(root):
    compiled, python = both(root, "hello.hello", "--", "--help")
    assert compiled.returncode == python.returncode
    assert compiled.stdout == python.stdout and compiled.stdout


def start(root: Path, script: str, python: bool = False) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop("CONFINE_LAUNCHER", None)
    if python:
        env.update(PYTHON)
    cmd = [sys.executable, "-m", "backends.cli_run", "--root", str(root), "run", "--shell", "hello.hello", "--", "-c",
           script]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd="/",
                            start_new_session=True)
    STARTED.append(proc.pid)
    return proc


@pytest.mark.parametrize("python", [False, True], ids=["compiled", "python"])
def test_sigterm_to_the_supervisor_reaches_the_app(root, python):
    proc = start(root, 'trap "echo got-term; exit 3" TERM; echo ready; while :; do sleep 0.05; done', python)
    try:
        assert proc.stdout.readline().strip() == "ready"
        exe = os.path.basename(os.readlink(f"/proc/{proc.pid}/exe"))
        if python:      # CONFINE_LAUNCHER=python: cli_run never execs the compiled launcher
            assert exe != fastpath.NAME and exe.startswith("python"), exe
        else:           # `confine run` became the compiled launcher, the app's supervisor
            assert exe == fastpath.NAME
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        kill_group(proc)
    assert proc.returncode == 3, err
    assert "got-term" in out


def test_a_failing_step_is_reported_alike_and_nothing_is_left(root):
    """The snap's /tmp parent owned by someone else: private-tmp refuses it, by name."""
    parent = root / "tmp" / "snap.hello"
    parent.mkdir(parents=True, exist_ok=True)
    st = parent.stat()
    os.chown(parent, 65534, 65534)
    try:
        compiled, python = both(root, "hello.hello")
    finally:
        os.chown(parent, st.st_uid, st.st_gid)
    assert compiled.returncode == python.returncode == 1
    assert compiled.stderr == python.stderr
    assert compiled.stderr.startswith(f"error: private-tmp: {parent} is owned by uid 65534, not root")


def trace(root: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return run(root, *args, env=dict(env or {}, CONFINE_LAUNCHER_TRACE="1"))


def test_a_stale_profile_goes_to_the_python_runner_which_refuses_it(root):
    src = root / "profiles" / "seccomp" / f"{TAG}.src"
    text = src.read_text()
    ok, _ = fastpath.check(str(root), "hello.hello")
    assert ok
    src.write_text(text + "# changed by hand\n")
    try:
        ok, why = fastpath.check(str(root), "hello.hello")
        assert not ok and "stale" in why
        p = trace(root, "hello.hello")
    finally:
        src.write_text(text)
    assert p.returncode == 1
    assert "handing over to the Python launcher" in p.stderr
    assert f"{TAG}.bin: the seccomp profile is stale" in p.stderr


@pytest.mark.parametrize("spoil", ["group-writable", "not-json", "another-schema"])
def test_a_plan_it_cannot_trust_or_read_goes_to_the_python_runner(root, spoil):
    plan = root / "profiles" / "launch" / f"{TAG}.json"
    text = plan.read_text()
    try:
        if spoil == "group-writable":
            os.chmod(plan, 0o664)
        elif spoil == "not-json":
            plan.write_text(text[:-10])
        else:
            plan.write_text(text.replace('"schema": 1', '"schema": 2'))
        ok, why = fastpath.check(str(root), "hello.hello")
        assert not ok, why
        compiled, python = both(root, "hello.hello")
    finally:
        plan.write_text(text)
        os.chmod(plan, 0o644)
    assert compiled.returncode == python.returncode == 1
    assert compiled.stderr == python.stderr and compiled.stderr.startswith("error: ")


def test_an_app_with_device_matches_goes_to_the_python_runner(root):
    subprocess.run([sys.executable, "-m", "backends.cli", "--root", str(root), "connect", "snapshot-camera:camera"],
                   check=True, capture_output=True, cwd=REPO)
    try:
        ok, why = fastpath.check(str(root), "snapshot-camera")
        assert not ok and "device matches" in why
        p = trace(root, "snapshot-camera", "--", "--help")
    finally:
        subprocess.run([sys.executable, "-m", "backends.cli", "--root", str(root), "disconnect", "--forget",
                        "snapshot-camera:camera"], check=True, capture_output=True, cwd=REPO)
        HostDirs(["snapshot-camera"]).cleanup()
    assert p.returncode == 0, p.stderr
    assert "handing over to the Python launcher" in p.stderr and "usage: snapshot-camera" in p.stdout


def test_an_unprivileged_invoker_goes_to_the_python_runner(root):
    def as_nobody():
        os.setgroups([])
        os.setresgid(65534, 65534, 65534)
        os.setresuid(65534, 65534, 65534)

    path = fastpath.binary()
    p = subprocess.run(fastpath.argv(path, str(root), "hello.hello", check=True), capture_output=True, text=True,
                       preexec_fn=as_nobody, cwd="/")
    assert p.returncode == 3 and p.stdout.startswith("python: an unprivileged invoker"), p.stdout + p.stderr


def test_without_python_it_says_what_to_use(root):
    path = fastpath.binary()
    p = subprocess.run([path, "--root", str(root), "nosuch.app"], capture_output=True, text=True, cwd="/")
    assert p.returncode == 1
    assert "this launch needs the Python launcher: use `confine run`" in p.stderr


def test_explain_names_the_launcher(root):
    p = run(root, "--explain", "hello.hello")
    assert p.returncode == 0, p.stderr
    assert re.search(r"^launcher: compiled \(.*confine-launch\)", p.stdout, re.M), p.stdout
    p = run(root, "--explain", "hello.hello", python=True)
    assert re.search(r"^launcher: python \(CONFINE_LAUNCHER=python\)", p.stdout, re.M), p.stdout


# ---- the installed `confine` command: the launcher itself, Python for everything else ---------

COMMAND = Path(sys.executable).with_name("confine")


def cmd(*args: str, python_cli: bool = False, **kw) -> subprocess.CompletedProcess:
    """`confine ARGS` (the installed command), or `python -m backends.cli ARGS`."""
    argv = [sys.executable, "-m", "backends.cli", *args] if python_cli else [str(COMMAND), *args]
    env = dict(os.environ)
    env.pop("CONFINE_LAUNCHER", None)
    return subprocess.run(argv, capture_output=True, text=True, cwd="/", env=env, timeout=60, **kw)


def test_the_confine_command_is_the_compiled_launcher():
    with open(COMMAND, "rb") as f:
        assert f.read(4) == b"\x7fELF", f"{COMMAND} is not the compiled launcher (was gcc there at install?)"


def test_the_confine_command_runs_the_app_itself(root):
    proc = subprocess.Popen([str(COMMAND), "--root", str(root), "run", "--shell", "hello.hello", "--", "-c",
                             "echo ready; read line; exit 5"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd="/", start_new_session=True)
    STARTED.append(proc.pid)
    try:
        assert proc.stdout.readline().strip() == "ready"
        assert os.readlink(f"/proc/{proc.pid}/exe") == str(COMMAND.resolve())   # no interpreter in between
        out, err = proc.communicate("go\n", timeout=20)
    finally:
        kill_group(proc)
    assert proc.returncode == 5, err


@pytest.mark.parametrize("args", [["list"], ["connections", "hello"], ["run", "--explain", "hello.hello"],
                                  ["run", "--explain", "--json", "notes"], ["run"], ["--help"], ["bogus"],
                                  ["run", "nosuch.app"]], ids=" ".join)
def test_every_other_command_goes_to_the_python_cli(root, args):
    args = ["--root", str(root), *args]
    ours, python = cmd(*args), cmd(*args, python_cli=True)
    assert (ours.returncode, ours.stdout, ours.stderr) == (python.returncode, python.stdout, python.stderr)


def test_the_confine_command_hands_an_unprivileged_run_to_python(root):
    """(The interpreter itself may be out of nobody's reach here, as under /root/.pyenv:
    the hand-over is what is checked, by its trace line.)"""
    def as_nobody():
        os.setgroups([])
        os.setresgid(65534, 65534, 65534)
        os.setresuid(65534, 65534, 65534)

    env = dict(os.environ, CONFINE_LAUNCHER_TRACE="1")
    env.pop("CONFINE_LAUNCHER", None)
    p = subprocess.run([str(COMMAND), "--root", str(root), "run", "hello.hello"], capture_output=True, text=True,
                       cwd="/", env=env, timeout=60, preexec_fn=as_nobody)
    assert "an unprivileged invoker (the user-namespace launch is the Python launcher's): handing over" in p.stderr
