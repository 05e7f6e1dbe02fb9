"""The example apps, confined: each does its job with its interfaces connected,
and is refused when they are disconnected, with the refusal seen where the layer
that decides it reports it (an audit record on the audit netlink socket for
seccomp, EACCES for Landlock, EPERM for the device cgroup).

The examples are installed once into a scratch root; a test that connects or
disconnects a plug puts the connection back as it found it. Every run is a
`confine run` in a session of its own, killed by group id if a test fails;
device cgroups, device nodes, listeners, files in the real home and the data
directories the runs create on the host are removed afterwards.
"""
from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from audit_support import AuditSocket
from launch_support import (REPO, ROOT_USER, STARTED, HostDirs, cgroups_checked, confine_run, install_examples,
                            kill_group)

pytestmark = pytest.mark.skipif(not ROOT_USER, reason="confined runs with a device cgroup need root")

SNAPS = ["hello", "nettool", "notes", "snapshot-camera", "sysmon", "webbrowser", "vm-manager", "containerd-lite",
         "container-client", "confine-mounter"]
CHECK = re.compile(r"^(ok|denied|absent|error) ")


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    r = tmp_path_factory.mktemp("examples") / "root"
    install_examples(r)
    return r


@pytest.fixture(scope="module", autouse=True)
def host_dirs():
    dirs = HostDirs(SNAPS)
    yield dirs
    dirs.cleanup()


@pytest.fixture(autouse=True)
def no_cgroup_left():
    """No run of a test leaves a device cgroup behind (runs named by their supervisor's pid)."""
    with cgroups_checked():
        yield


@pytest.fixture
def audit():
    try:
        sock = AuditSocket()
    except OSError as exc:
        pytest.fail(f"cannot read the kernel's audit records (NETLINK_AUDIT, group 1): {exc}", pytrace=False)
    yield sock
    sock.close()


def cli(root: Path, *args: str) -> str:
    p = subprocess.run([sys.executable, "-m", "backends.cli", "--root", str(root), *args], capture_output=True,
                       text=True, cwd=REPO, timeout=120)
    assert p.returncode == 0, f"confine {' '.join(args)}: {p.stderr}"
    return p.stdout


@contextlib.contextmanager
def disconnected(root: Path, *plugs: str):
    """Disconnect `plugs` for the block; connect them again afterwards."""
    done = []
    try:
        for plug in plugs:
            cli(root, "disconnect", plug)
            done.append(plug)
        yield
    finally:
        for plug in done:
            cli(root, "connect", plug)


@contextlib.contextmanager
def connected(root: Path, *plugs: str):
    """Connect `plugs` for the block; disconnect them again afterwards."""
    done = []
    try:
        for plug in plugs:
            cli(root, "connect", plug)
            done.append(plug)
        yield
    finally:
        for plug in done:
            cli(root, "disconnect", "--forget", plug)


def checks(stdout: str) -> dict[str, str]:
    """{what: line} of an example's check lines (`ok WHAT (detail)`, `denied WHAT: why` ...)."""
    out = {}
    for line in stdout.splitlines():
        m = CHECK.match(line)
        if m:
            out[line] = m.group(1)
    return out


def line_of(stdout: str, prefix: str) -> str:
    found = [line for line in stdout.splitlines() if line.startswith(prefix)]
    assert found, f"no line starting with {prefix!r} in:\n{stdout}"
    return found[0]


# ---- every app runs confined ---------------------------------------------------------------

APPS = ["hello.hello", "sysmon.sysmon", "webbrowser.webbrowser", "vm-manager.vm-manager", "nettool.nettool",
        "notes.notes", "notes.notes-sync", "snapshot-camera.snapshot-camera", "container-client.client",
        "containerd-lite.ctl"]


@pytest.mark.parametrize("app", APPS)
def test_example_app_runs_confined_and_prints_its_checks(root, app):
    p = confine_run(root, "--shell", app, "--", "-c",
                    "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; readlink /proc/self/ns/mnt")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert sorted(lines[:2]) == ["NoNewPrivs:\t1", "Seccomp:\t2"], p.stdout
    assert lines[2] != os.readlink("/proc/self/ns/mnt")
    p = confine_run(root, app)
    assert p.returncode == 0, p.stderr
    found = checks(p.stdout)
    assert len(found) >= 2, p.stdout
    errors = [line for line, kind in found.items() if kind == "error"]
    assert not errors, f"{app}: checks that neither worked nor were refused: {errors}"


# ---- nettool: TCP to a listener the test runs ----------------------------------------------------

class Listener:
    """A TCP listener on 127.0.0.1 in a thread: answers "pong" to "ping"; records what it got."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.got: list[bytes] = []
        self._stop_r, self._stop_w = os.pipe()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            ready, _, _ = select.select([self.sock, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            conn, _ = self.sock.accept()
            with conn:
                conn.settimeout(5)
                try:
                    data = conn.recv(16)
                    self.got.append(data)
                    if data == b"ping":
                        conn.sendall(b"pong")
                except OSError:
                    pass

    def close(self):
        os.write(self._stop_w, b"x")
        self.thread.join(10)
        self.sock.close()
        os.close(self._stop_r)
        os.close(self._stop_w)


@pytest.fixture
def listener():
    lst = Listener()
    yield lst
    lst.close()


def test_nettool_reaches_a_loopback_listener_only_with_network(root, listener, audit):
    port = listener.port
    p = confine_run(root, "nettool", "--", "connect", str(port))
    assert p.returncode == 0, p.stderr
    assert f"ok ping tcp 127.0.0.1:{port} (sent ping, got pong)" in p.stdout.splitlines()
    assert listener.got == [b"ping"]

    # network-bind disconnected, network still connected: TCP sockets and connects
    # stay (network), listening is Landlock's to refuse (TCP bind handled, no rule)
    with disconnected(root, "nettool:network-bind"):
        p = confine_run(root, "nettool", "--", "connect", str(port))
        assert f"ok ping tcp 127.0.0.1:{port} (sent ping, got pong)" in p.stdout.splitlines()
        p = confine_run(root, "nettool")
    assert p.returncode == 0, p.stderr
    assert "ok create tcp socket" in p.stdout.splitlines()
    assert "denied bind tcp 127.0.0.1:0: Permission denied" in p.stdout.splitlines()          # EACCES
    assert listener.got == [b"ping", b"ping"]

    # the plan gives AF_INET sockets only with network or network-bind (seccomp), and
    # each of them also keeps TCP connect (Landlock): without both, socket(2) is refused
    # both disconnected: no AF_INET socket at all, refused by seccomp and audited
    with disconnected(root, "nettool:network", "nettool:network-bind"):
        p = confine_run(root, "nettool", "--", "connect", str(port))
    assert p.returncode == 0, p.stderr
    assert "denied create tcp socket: Operation not permitted" in p.stdout.splitlines()        # EPERM
    rec = audit.wait_seccomp(syscall=41, comm="nettool", code="0x50000")
    assert rec is not None and rec["arch"] == "c000003e", "no seccomp record of socket(2) from nettool"
    assert listener.got == [b"ping", b"ping"]           # nothing else ever reached the listener


# ---- notes: a write to the real home --------------------------------------------------------------

@pytest.fixture
def home_dir():
    """A directory in root's real home (non-hidden: the home interface covers it), removed afterwards."""
    d = Path("/root") / f"confine-notes-test-{uuid.uuid4().hex[:8]}"
    d.mkdir(mode=0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def notes_kept():
    """The notes file of root's $SNAP_USER_DATA (a host path every root shares), put back as it was."""
    path = Path("/root/snap/notes/x1/notes.txt")
    before = path.read_bytes() if path.exists() else None
    yield
    if before is None:
        if path.exists():
            path.unlink()
    else:
        path.write_bytes(before)


def test_notes_writes_to_the_real_home_only_with_home(root, home_dir, notes_kept):
    p = confine_run(root, "notes", "--", "add", "buy milk")
    assert p.returncode == 0, p.stderr
    p = confine_run(root, "notes", "--", "export", str(home_dir))
    assert p.returncode == 0, p.stderr
    assert f"ok export notes to {home_dir}/notes.txt" in line_of(p.stdout, "ok export")
    assert (home_dir / "notes.txt").read_text().endswith("\tbuy milk\n")
    (home_dir / "notes.txt").unlink()
    with disconnected(root, "notes:home"):
        p = confine_run(root, "notes", "--", "export", str(home_dir))
    assert p.returncode == 0, p.stderr
    assert f"denied export notes to {home_dir}/notes.txt: Permission denied" in p.stdout.splitlines()   # Landlock
    assert not (home_dir / "notes.txt").exists()
    assert "ok read " in p.stdout                        # its own $SNAP_USER_DATA stays its own


# ---- sysmon: acting on another process ----------------------------------------------------------

def test_sysmon_controls_its_child_only_with_process_control(root, audit):
    with connected(root, "sysmon:process-control"):
        p = confine_run(root, "sysmon")
    assert p.returncode == 0, p.stderr
    assert line_of(p.stdout, "ok renice child ")
    assert line_of(p.stdout, "ok pin child ")
    assert line_of(p.stdout, "ok stop child ")
    p = confine_run(root, "sysmon")                     # process-control is not auto-connected
    assert p.returncode == 0, p.stderr
    assert line_of(p.stdout, "denied renice child ").endswith(": Operation not permitted")
    assert line_of(p.stdout, "denied pin child ").endswith(": Operation not permitted")
    # setpriority(2) on another process, sched_setaffinity(2): refused by seccomp, audited
    assert audit.wait_seccomp(syscall=141, comm="renice") is not None
    assert audit.wait_seccomp(syscall=203, comm="taskset") is not None


# ---- snapshot-camera: a video device -------------------------------------------------------------

CAMERA_DRIVER = r"""
# `confine run` with one more video device in what pyudev lists from /sys: this
# kernel has no Video4Linux driver, and libudev accepts no device outside sysfs,
# so the test's device node gets its /sys entry here, at the one place the
# launcher looks (device-cgroup and hotplug both list devices through pyudev).
import sys
sys.path.insert(0, sys.argv[1])
node, major, minor = sys.argv[2], sys.argv[3], sys.argv[4]
import pyudev
name = node.rsplit("/", 1)[1]
devpath = "/devices/virtual/video4linux/" + name
FAKE = {"subsystem": "video4linux", "sys_name": name, "device_path": devpath,
        "properties": {"SUBSYSTEM": "video4linux", "DEVPATH": devpath, "DEVNAME": node, "MAJOR": major,
                       "MINOR": minor}}
real = pyudev.Context.list_devices
def list_devices(self, **kw):
    found = list(real(self, **kw))
    if set(kw) <= {"subsystem"} and kw.get("subsystem") in (None, "video4linux"):
        found.append(FAKE)
    return found
pyudev.Context.list_devices = list_devices
from backends.cli_run import main_exit
main_exit(sys.argv[5:])
"""


@pytest.fixture
def video_node():
    """A character device node with a Video4Linux number (major 81) in the host's
    /dev, where the camera interface looks; removed afterwards. No driver serves
    major 81 here: an open that confinement lets through fails with ENXIO."""
    for minor in range(63, 31, -1):
        path = f"/dev/video{minor}"
        if not os.path.lexists(path):
            break
    else:  # pragma: no cover
        pytest.skip("no free /dev/videoN name")
    os.mknod(path, 0o020660, os.makedev(81, minor))
    try:
        yield path, 81, minor
    finally:
        os.unlink(path)


def camera_run(root: Path, node, *args: str) -> subprocess.CompletedProcess:
    path, major, minor = node
    cmd = [sys.executable, "-c", CAMERA_DRIVER, str(REPO), path, str(major), str(minor), "--root", str(root), "run",
           *args]
    # the Python runner in this very process, where pyudev is patched (the compiled
    # launcher would hand an app with device matches to a fresh interpreter)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                            start_new_session=True, env=dict(os.environ, CONFINE_LAUNCHER="python"))
    STARTED.append(proc.pid)
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        kill_group(proc)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


PROBE = "import errno, os, sys\ntry:\n    os.close(os.open(sys.argv[1], os.O_RDWR))\n    print('opened')\n" \
        "except OSError as e:\n    print(errno.errorcode[e.errno])\n"


def test_snapshot_camera_opens_a_video_device_only_with_camera(root, video_node):
    path, major, minor = video_node
    what = f"open {path} and query capabilities"
    with connected(root, "snapshot-camera:camera"):
        p = camera_run(root, video_node, "--explain", "snapshot-camera")
        assert f"{path} (c {major}:{minor}): matched by subsystem=video4linux kernel=video[0-9]*" in p.stdout
        p = camera_run(root, video_node, "snapshot-camera", "--", path)
        assert p.returncode == 0, p.stderr
        assert f"absent {what}" in p.stdout.splitlines()          # past the cgroup and Landlock: no driver
        assert line_of(p.stdout, "ok record result")
        p = camera_run(root, video_node, "--shell", "snapshot-camera", "--", "-c",
                       f'python3 -c "$1" {path}', "sh", PROBE)
        assert p.stdout.split() == ["ENXIO"], p.stdout + p.stderr
    p = camera_run(root, video_node, "snapshot-camera", "--", path)   # camera is not auto-connected
    assert p.returncode == 0, p.stderr
    assert f"denied {what}: Operation not permitted" in p.stdout.splitlines()   # the device cgroup's EPERM
    p = camera_run(root, video_node, "--shell", "snapshot-camera", "--", "-c", f'python3 -c "$1" {path}', "sh",
                   PROBE)
    assert p.stdout.split() == ["EPERM"], p.stdout + p.stderr


# ---- containerd-lite: a daemon that mounts, and its clients -----------------------------------

DOCKER_SOCKET = Path("/run/docker.sock")     # what the docker interface grants, slot and plug side


@pytest.fixture
def docker_socket():
    """/run/docker.sock, where the engine listens: it is created on the host (the app's
    mount namespace shares the host's /run), and removed afterwards even when a test fails
    or the engine is killed before it cleans up. Something already there belongs to an
    engine of the host: the test leaves it alone and does not run."""
    if os.path.lexists(DOCKER_SOCKET):
        pytest.skip(f"{DOCKER_SOCKET} exists on this host (a real engine's socket?): not touching it")
    try:
        yield DOCKER_SOCKET
    finally:
        if DOCKER_SOCKET.is_socket():
            DOCKER_SOCKET.unlink()


@contextlib.contextmanager
def engine(root: Path):
    """containerd-lite's daemon, confined, until it listens; (process, its output lines).
    Stopped with SIGTERM (forwarded to the app) and then its process group killed."""
    cmd = [sys.executable, "-m", "backends.cli_run", "--root", str(root), "run", "containerd-lite.daemon"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    daemon = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                              env=env, start_new_session=True)
    STARTED.append(daemon.pid)
    lines: list[str] = []
    listen = ("ok listen on", "denied listen on", "error listen on", "absent listen on")
    fd, rest = daemon.stdout.fileno(), b""     # read the pipe itself: a buffered readline would hide lines from select
    try:
        while not (lines and lines[-1].startswith(listen)):
            ready, _, _ = select.select([fd], [], [], 20)
            assert ready, f"the daemon did not start listening: {lines}"
            chunk = os.read(fd, 65536)
            assert chunk, f"the daemon stopped: {lines} {daemon.stderr.read()}"
            *done, rest = (rest + chunk).split(b"\n")
            for raw in done:
                lines.append(raw.decode(errors="replace"))
                if lines[-1].startswith(listen):
                    break
        yield daemon, lines
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        kill_group(daemon)


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                kids = Path(f"/proc/{p}/task/{t}/children").read_text().split()
            except OSError:
                continue
            out += [int(k) for k in kids]
            todo += [int(k) for k in kids]
    return out


def host_mounts() -> str:
    return Path("/proc/self/mountinfo").read_text()


def test_containerd_lite_daemon_mounts_and_serves_its_ctl(root, docker_socket):
    """docker-support lets the engine mount; Landlock would refuse every mount, so the plan
    leaves Landlock out for it, naming docker-support, and the engine's mount checks pass
    confined. Its mounts stay in its own mount namespaces; no_new_privs and its mount
    namespace stay in force (seccomp and capabilities are unrestricted by docker-support
    with privileged-containers, as its policy says, not by this)."""
    with connected(root, "containerd-lite:docker-support"):
        p = confine_run(root, "--explain", "containerd-lite.daemon")
        assert p.returncode == 0, p.stderr
        assert re.search(r"landlock +(skipped|applies) +ABI \d+ .*filesystem not restricted \(docker-support "
                         r"grants mounting, which Landlock would refuse\)", p.stdout), p.stdout
        assert re.search(r"mount-namespace +applies", p.stdout) and re.search(r"no-new-privs +applies", p.stdout)
        with engine(root) as (daemon, lines):
            assert lines[-1] == f"ok listen on {docker_socket}", lines
            assert line_of("\n".join(lines), "ok mount tmpfs in a private mount namespace (tmpfs on /tmp/confine-mnt-")
            for want in ("ok unshare mount namespace", "ok make mounts private", "ok write into container rootfs",
                         "ok unmount rootfs", "ok unshare pid namespace (pid inside: 1)"):
                assert want in lines, (want, lines)
            assert line_of("\n".join(lines), "ok mount tmpfs rootfs on /tmp/containerd-lite-rootfs-")
            assert not [ln for ln in lines if CHECK.match(ln) and not ln.startswith("ok ")], lines
            # the app is confined in its own mount namespace, with no_new_privs
            app = [q for q in descendants(daemon.pid)
                   if Path(f"/proc/{q}/cmdline").read_bytes().split(b"\0")[1:2] == [b"/".join(
                       [str(root).encode(), b"snaps/containerd-lite/x1/bin/daemon"])]]
            assert app, "the daemon's process was not found under its supervisor"
            assert os.readlink(f"/proc/{app[0]}/ns/mnt") != os.readlink("/proc/self/ns/mnt")
            assert "NoNewPrivs:\t1" in Path(f"/proc/{app[0]}/status").read_text()
            # nothing the engine mounted reached the host
            assert "confine-mnt-" not in host_mounts() and "containerd-lite-rootfs-" not in host_mounts()
            p = confine_run(root, "containerd-lite.ctl")
            assert p.returncode == 0, p.stderr
            assert f"ok ping engine at {docker_socket} (OK)" in p.stdout.splitlines()
            assert "ok engine version (0.1)" in p.stdout.splitlines()
    # disconnected, Landlock applies again: the mount is refused (seccomp refuses it first)
    p = confine_run(root, "--explain", "containerd-lite.daemon")
    assert re.search(r"landlock +applies", p.stdout), p.stdout
    p = confine_run(root, "containerd-lite.daemon", "--", "--checks-only")
    assert p.returncode == 0, p.stderr
    assert "denied mount tmpfs in a private mount namespace: Operation not permitted" in p.stdout.splitlines()


@contextlib.contextmanager
def connected_to(root: Path, plug: str, slot: str):
    cli(root, "connect", plug, slot)
    try:
        yield
    finally:
        cli(root, "disconnect", "--forget", plug)


def test_container_client_reaches_the_engine_through_the_docker_plug(root, docker_socket):
    """The engine listens where the docker slot grants, /run/docker.sock; a confined client
    with its docker plug connected pings it and has it run a container. Disconnected, it
    still connects: on this kernel no layer mediates a pathname Unix socket (the docker
    interface's `/run/docker.sock rw` is an AppArmor rule, and the kernel has no AppArmor;
    Landlock up to ABI 7 does not check connect(2) on such sockets). The test says so
    rather than pretend a denial."""
    with connected(root, "containerd-lite:docker-support"), engine(root) as (daemon, lines):
        assert lines[-1] == f"ok listen on {docker_socket}", lines
        with connected_to(root, "container-client:docker", "containerd-lite:docker"):
            p = confine_run(root, "container-client.client", "--", "--run")
            assert p.returncode == 0, p.stderr
            out = p.stdout.splitlines()
            for want in (f"ok connect engine socket ({docker_socket})", "ok engine ping (OK)",
                         "ok engine version (0.1)", "ok engine runs hello container",
                         "  engine: ok make mounts private", "  engine: ok unshare pid namespace (pid inside: 1)",
                         "denied unshare own mount namespace (not granted by the docker plug): "
                         "Operation not permitted"):
                assert want in out, (want, p.stdout)
            profile = (root / "profiles" / "apparmor" / "snap.container-client.client").read_text()
            assert "/{,var/}run/docker.sock rw," in profile
        # disconnected: the AppArmor rule is gone, but nothing here enforces AppArmor
        profile = (root / "profiles" / "apparmor" / "snap.container-client.client").read_text()
        assert "docker.sock" not in profile
        p = confine_run(root, "--explain", "container-client.client")
        assert re.search(r"apparmor +skipped +the kernel has no AppArmor", p.stdout), p.stdout
        assert re.search(r"landlock +applies", p.stdout) and re.search(r"seccomp +applies", p.stdout)
        p = confine_run(root, "container-client.client")
        assert p.returncode == 0, p.stderr
        assert f"ok connect engine socket ({docker_socket})" in p.stdout.splitlines()     # the truth here
        assert "ok engine ping (OK)" in p.stdout.splitlines()


# ---- docker-support without privileged containers: mounting under seccomp --------------------

MOUNTER_YAML = """name: confine-mounter
version: '1'
summary: test snap, mounts in a private mount namespace
confinement: strict
base: core22
grade: stable
apps:
  mounter:
    command: bin/mounter
    plugs: [docker-support]
"""

MOUNTER = r"""#!/usr/bin/python3
import ctypes, errno, os, tempfile
libc = ctypes.CDLL(None, use_errno=True)
def call(name, *args):
    if getattr(libc, name)(*args) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
for line in open("/proc/self/status"):
    if line.startswith(("Seccomp:", "NoNewPrivs:")):
        print(line.strip(), flush=True)
target = tempfile.mkdtemp(prefix="confine-mounter-", dir="/tmp")
pid = os.fork()
if pid == 0:
    try:
        call("unshare", ctypes.c_int(0x00020000))
        call("mount", None, b"/", None, ctypes.c_ulong(0x4000 | 1 << 18), None)
        call("mount", b"tmpfs", target.encode(), b"tmpfs", ctypes.c_ulong(0), b"size=1m")
        call("umount2", target.encode(), ctypes.c_int(2))
        print("mount ok", flush=True)
    except OSError as e:
        print("mount", errno.errorcode[e.errno], flush=True)
    os._exit(0)
os.waitpid(pid, 0)
os.rmdir(target)
libc.syscall(304, -1, None, 0)          # open_by_handle_at: docker-support leaves it out
print("open_by_handle_at", errno.errorcode[ctypes.get_errno()])
"""


def test_docker_support_app_mounts_with_its_seccomp_filter_in_force(tmp_path, audit):
    """A docker-support app without privileged containers: Landlock is left out (it would
    refuse the mount), the mount works, and the seccomp filter still holds: a call
    docker-support leaves out is refused (EPERM, audited) where unconfined it reaches the
    kernel (EFAULT for its NULL handle)."""
    snap = tmp_path / "confine-mounter"
    (snap / "meta").mkdir(parents=True)
    (snap / "bin").mkdir()
    (snap / "meta" / "snap.yaml").write_text(MOUNTER_YAML)
    (snap / "bin" / "mounter").write_text(MOUNTER)
    (snap / "bin" / "mounter").chmod(0o755)
    r = tmp_path / "root"
    cli(r, "install", "--grant", "docker-support", str(snap))
    p = confine_run(r, "confine-mounter.mounter")
    assert p.stdout.splitlines() == ["NoNewPrivs:\t1", "Seccomp:\t2", "mount EPERM", "open_by_handle_at EPERM"], \
        p.stdout + p.stderr                                      # not connected: seccomp refuses unshare
    cli(r, "connect", "confine-mounter:docker-support")
    p = confine_run(r, "--explain", "confine-mounter.mounter")
    assert re.search(r"landlock +(skipped|applies) +ABI \d+ .*filesystem not restricted \(docker-support "
                     r"grants mounting, which Landlock would refuse\)", p.stdout), p.stdout
    assert re.search(r"seccomp +applies", p.stdout), p.stdout
    p = confine_run(r, "confine-mounter.mounter")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["NoNewPrivs:\t1", "Seccomp:\t2", "mount ok", "open_by_handle_at EPERM"], \
        p.stdout + p.stderr
    assert audit.wait_seccomp(syscall=304, comm="mounter") is not None
    assert "confine-mounter-" not in host_mounts()


# ---- notes and webbrowser: listing the home directory ----------------------------------------

@pytest.fixture
def hidden_dir():
    """A hidden directory in root's real home with a file in it, removed afterwards."""
    d = Path("/root") / f".confine-hidden-test-{uuid.uuid4().hex[:8]}"
    d.mkdir(mode=0o700)
    (d / "secret").write_text("do not read\n")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_notes_lists_the_home_directory_but_reads_no_hidden_file(root, hidden_dir):
    """home gives `l` (read_dir) on $HOME: notes lists it. Landlock rights hold beneath,
    so hidden directories can be listed too (names only), but no hidden file is read."""
    p = confine_run(root, "notes")
    assert p.returncode == 0, p.stderr
    assert re.fullmatch(r"ok list home /root \(\d+ entries\)", line_of(p.stdout, "ok list home /root ")), p.stdout
    p = confine_run(root, "--shell", "notes", "--", "-c",
                    'ls -A /root; echo "--"; ls -A "$1"; echo "--"; cat "$1/secret" 2>&1; cat /root/.profile 2>&1; '
                    'touch /root/confine-new-file 2>&1; true', "sh", str(hidden_dir))
    listing, below, reads = p.stdout.split("--\n")
    assert hidden_dir.name in listing.split()
    assert below.split() == ["secret"]                             # the consequence, stated in FORMAT.md
    assert reads.count("Permission denied") == 3, reads            # secret, .profile, a new file in $HOME
    assert not Path("/root/confine-new-file").exists()
    p = confine_run(root, "webbrowser")
    assert line_of(p.stdout, "ok list home /root ")
    assert "denied read home /root/.profile: Permission denied" in p.stdout.splitlines() \
        or "absent read home /root/.profile" in p.stdout.splitlines()
    with disconnected(root, "notes:home"):
        p = confine_run(root, "notes")
    assert "denied list home /root: Permission denied" in p.stdout.splitlines()


def test_vm_manager_mount_stays_denied_with_multipass_support(root, audit):
    """multipass-support grants no mount (snapd's does not either), so vm-manager keeps its
    Landlock step and its mount check is refused, by seccomp, at unshare(2); its devices work."""
    with connected(root, "vm-manager:multipass-support"):
        p = confine_run(root, "--explain", "vm-manager.vm-manager")
        assert re.search(r"landlock +applies", p.stdout), p.stdout
        p = confine_run(root, "vm-manager")
    assert p.returncode == 0, p.stderr
    out = p.stdout.splitlines()
    assert "denied mount tmpfs in a private mount namespace: Operation not permitted" in out
    assert audit.wait_seccomp(syscall=272, comm="vm-manager") is not None          # unshare
    if os.path.exists("/dev/kvm"):
        assert line_of(p.stdout, "ok open /dev/kvm (API version ")
    if os.path.exists("/dev/net/tun"):
        assert "ok open /dev/net/tun" in out
