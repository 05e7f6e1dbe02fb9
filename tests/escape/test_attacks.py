"""The escape suite: real attacks from inside a confined app, each refused.

Every attack runs only inside the sandbox under test: the app `escape.run` (see
conftest.py) first checks that its own process has a seccomp filter, no_new_privs
and a mount namespace other than the host's, and refuses to run the attack
otherwise. Each test asserts the refusal precisely: the errno or the signal that
the layer deciding it gives (for seccomp, the decision of the app's own compiled
filters, read back with the BPF interpreter), the audit record the kernel emits
for a seccomp refusal (read from the audit netlink socket, opened before the app
starts), and, where the attack aims at state outside, that the state is as before.
"""
from __future__ import annotations

import ctypes
import errno as E
import os
import signal
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from backends.native.seccomp import bpf

from launch_support import confine_run

from .conftest import HERE, TAG, attack

# x86-64 system call numbers
NR = {"getpid": 39, "ioctl": 16, "ptrace": 101, "syslog": 103, "clone": 56, "unshare": 272, "keyctl": 250,
      "add_key": 248, "request_key": 249, "name_to_handle_at": 303, "open_by_handle_at": 304,
      "process_vm_readv": 310, "clone3": 435}
# i386 system call numbers (int 0x80)
NR32 = {"getpid": 20, "syslog": 103, "unshare": 310, "keyctl": 288}
TIOCSTI, TIOCLINUX = 0x5412, 0x541C
CLONE_FLAGS = {"CLONE_NEWNS": 0x00020000, "CLONE_NEWCGROUP": 0x02000000, "CLONE_NEWUTS": 0x04000000,
               "CLONE_NEWIPC": 0x08000000, "CLONE_NEWUSER": 0x10000000, "CLONE_NEWPID": 0x20000000,
               "CLONE_NEWNET": 0x40000000}
SIGCHLD = 17
ERRNO_NAMES = {E.EPERM: "EPERM", E.EACCES: "EACCES", E.ENOSYS: "ENOSYS"}


def decision(lab, nr: int, *args: int, arch: int = bpf.AUDIT_ARCH_X86_64) -> int:
    """What the app's own filters (deny then allow, as loaded) return for this call."""
    return bpf.decide(lab.filters(), bpf.SeccompData(nr=nr, arch=arch, args=tuple(args)))


def expect_refused(lab, result, nr: int, *args: int) -> None:
    """The filter refuses the call, and the process got exactly what it decides."""
    ret = decision(lab, nr, *args)
    act = bpf.action(ret)
    assert act not in (bpf.RET_ALLOW, bpf.RET_LOG), f"{result.label}: the filter allows it ({bpf.describe(ret)})"
    if act == bpf.RET_ERRNO:
        assert (result.ret, result.errno) == (-1, ERRNO_NAMES.get(ret & bpf.DATA, str(ret & bpf.DATA))), result
    else:
        assert result.signal == signal.SIGSYS, result


def audited(audit, result_pid: int, nr: int, comm: str = "attack", arch: str = "c000003e") -> dict:
    rec = audit.wait_seccomp(pid=result_pid, syscall=nr)
    assert rec is not None, f"no seccomp audit record for syscall {nr} of pid {result_pid}"
    assert rec["comm"] == comm and rec["arch"] == arch, rec
    return rec


# ---- the guard itself -------------------------------------------------------------------

def test_guard_refuses_to_run_unconfined(lab):
    """The precondition of every attack: outside the sandbox, the guard runs nothing."""
    p = subprocess.run(["/bin/sh", str(HERE / "guard.sh"), lab.host_mnt, "/bin/echo", "RAN"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 99 and "RAN" not in p.stdout
    assert "NOT CONFINED (Seccomp: 0, NoNewPrivs: 0" in p.stderr


# ---- seccomp: system calls --------------------------------------------------------------

def test_unlisted_syscall_is_refused_and_audited(lab, audit):
    out = attack(lab, "attack", "unlisted")
    r = out["syslog"]
    assert (r.ret, r.errno) == (-1, "EPERM")
    assert bpf.describe(decision(lab, NR["syslog"], 10)) == "errno(1)"
    rec = audited(audit, out.pid, NR["syslog"])
    assert rec["code"] == "0x50000"                     # the errno action, logged through FLAG_LOG
    assert rec["exe"] == str(lab.snap / "bin" / "attack")
    assert rec["compat"] == "0" and rec["sig"] == "0"


def test_x32_syscall(lab, audit):
    """This kernel has no x32 ABI (the call would get ENOSYS whatever the filter
    says), so what proves the refusal is the filter's own decision on the x32
    number, and the seccomp kill it causes before the kernel looks the number up."""
    x32_getpid = bpf.X32_SYSCALL_BIT | NR["getpid"]
    assert bpf.action(decision(lab, NR["getpid"])) == bpf.RET_ALLOW           # getpid itself is allowed
    ret = decision(lab, x32_getpid)
    assert bpf.action(ret) in (bpf.RET_KILL_PROCESS, bpf.RET_KILL_THREAD), bpf.describe(ret)
    out = attack(lab, "attack", "x32")
    assert out["getpid"].ret > 0
    r = out["x32 getpid"]
    assert r.signal == signal.SIGSYS, r                  # not ENOSYS: the filter killed it first
    rec = audited(audit, r.pid, x32_getpid)
    assert rec["sig"] == str(int(signal.SIGSYS))


def test_i386_int80_syscall(lab, audit):
    calls = [(NR32["getpid"], 0, 0, 0), (NR32["syslog"], 10, 0, 0), (NR32["unshare"], CLONE_FLAGS["CLONE_NEWUSER"], 0, 0),
             (NR32["keyctl"], 0, -3, 1)]
    out = attack(lab, "attack32", *(",".join(str(x) for x in c) for c in calls))
    got = [int(x) for x in out.lines[1:]]
    assert len(got) == len(calls), out.proc.stdout + out.proc.stderr
    pid = got[0]
    assert pid > 0                                        # an allowed i386 call works: the arch is known
    assert got[1:] == [-E.EPERM] * 3                      # unlisted i386 calls: refused by the i386 part
    for nr in (NR32["syslog"], NR32["unshare"], NR32["keyctl"]):
        assert bpf.describe(decision(lab, nr, arch=bpf.AUDIT_ARCH_I386)) == "errno(1)"
        rec = audited(audit, pid, nr, comm="attack32", arch="40000003")
        assert rec["compat"] == "1"


# ---- terminals ---------------------------------------------------------------------------

def test_tiocsti(lab):
    out = attack(lab, "attack", "tiocsti")
    assert out["ioctl TIOCGWINSZ"].ret == 0               # the pty is a terminal, ioctl works on it
    expect_refused(lab, out["ioctl TIOCSTI"], NR["ioctl"], 3, TIOCSTI)
    assert out["ioctl TIOCSTI"].errno == "EACCES"          # the explicit denial, not the allow list
    assert out["read back from the pty"].errno == "EAGAIN"  # nothing was typed into the input


def test_tiocsti_high_bits(lab):
    """The kernel reads the request as 32 bits: 0xffffffff00005412 is TIOCSTI too."""
    out = attack(lab, "attack", "tiocsti-high")
    high = TIOCSTI | 0xFFFFFFFF00000000
    expect_refused(lab, out["ioctl TIOCSTI|high-bits"], NR["ioctl"], 3, high)
    assert out["ioctl TIOCSTI|high-bits"].errno == "EACCES"
    assert out["read back from the pty"].errno == "EAGAIN"


def test_tioclinux(lab):
    out = attack(lab, "attack", "tioclinux")
    expect_refused(lab, out["ioctl TIOCLINUX"], NR["ioctl"], 3, TIOCLINUX)
    expect_refused(lab, out["ioctl TIOCLINUX|high-bits"], NR["ioctl"], 3, TIOCLINUX | 0xFFFFFFFF00000000)
    assert out["ioctl TIOCLINUX"].errno == out["ioctl TIOCLINUX|high-bits"].errno == "EACCES"


# ---- files by handle, namespaces, keys, other processes ---------------------------------------

def _handle_of(path: str) -> str:
    """TYPE:HEX of `path`'s file handle (name_to_handle_at), as the host sees it."""
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(8 + 128)
    ctypes.c_uint.from_buffer(buf, 0).value = 128
    mount_id = ctypes.c_int()
    if libc.name_to_handle_at(-100, path.encode(), buf, ctypes.byref(mount_id), 0) != 0:
        pytest.fail(f"name_to_handle_at {path}: {os.strerror(ctypes.get_errno())}")
    size = ctypes.c_uint.from_buffer(buf, 0).value
    kind = ctypes.c_int.from_buffer(buf, 4).value
    return f"{kind}:{buf.raw[8:8 + size].hex()}"


def test_open_by_handle_at(lab, audit):
    """The "shocker" escape: a handle of a host directory opened by number, past the mount namespace."""
    out = attack(lab, "attack", "open-by-handle", _handle_of("/etc"))
    expect_refused(lab, out["open_by_handle_at"], NR["open_by_handle_at"])
    assert out["open_by_handle_at"].errno == "EPERM"
    audited(audit, out.pid, NR["open_by_handle_at"])
    assert out["name_to_handle_at"].errno == "EPERM"
    audited(audit, out.pid, NR["name_to_handle_at"])


def test_unshare_newuser(lab, audit):
    out = attack(lab, "attack", "unshare-user")
    for label in ("unshare CLONE_NEWUSER", "unshare CLONE_NEWUSER|CLONE_NEWNS"):
        assert (out[label].ret, out[label].errno) == (-1, "EPERM"), out[label]
    expect_refused(lab, out["unshare CLONE_NEWUSER"], NR["unshare"], CLONE_FLAGS["CLONE_NEWUSER"])
    audited(audit, out.pid, NR["unshare"])
    before = next(line for line in out.lines if line.startswith("userns before"))
    after = next(line for line in out.lines if line.startswith("userns after"))
    assert before.split()[-1] == after.split()[-1] != ""


def test_clone_with_namespace_flags(lab):
    out = attack(lab, "attack", "clone-ns")
    assert out["clone plain"].ret > 0                      # forking is fine
    allowed = []
    for name, flag in CLONE_FLAGS.items():
        for call, args in (("clone", (flag | SIGCHLD,)), ("clone3", ())):
            r = out[f"{call} {name}"]
            if r.ret is not None and r.ret >= 0:
                allowed.append(f"{call} {name} (made pid {r.ret})")
                continue
            expect_refused(lab, r, NR[call], *args)
    assert not allowed, "new namespaces were created from inside the sandbox: " + ", ".join(allowed)


def test_capabilities_no_interface_grants(lab):
    """Root in the sandbox holds no capability the app's interfaces do not grant:
    none in any set, and a file only CAP_DAC_OVERRIDE could read stays closed."""
    secret = lab.snap / "secret"
    secret.write_text("root only\n")
    os.chmod(secret, 0)
    try:
        proc = confine_run(lab.root, "escape.run", "--", lab.host_mnt, "/bin/sh", "-c",
                           'grep ^Cap /proc/self/status; cat "$SNAP/secret"; echo "cat=$?"')
    finally:
        secret.unlink()
    assert proc.stdout.startswith("guard: confined ("), proc.stdout + proc.stderr
    caps = dict(line.split(":\t", 1) for line in proc.stdout.splitlines() if line.startswith("Cap"))
    assert set(caps) == {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}, proc.stdout
    assert all(int(v, 16) == 0 for v in caps.values()), caps
    assert "root only" not in proc.stdout and "cat=1" in proc.stdout
    assert "Permission denied" in proc.stderr


def test_keyctl(lab, audit):
    out = attack(lab, "attack", "keyctl")
    for label, nr in (("keyctl KEYCTL_GET_KEYRING_ID", "keyctl"), ("add_key", "add_key"),
                      ("request_key", "request_key")):
        assert (out[label].ret, out[label].errno) == (-1, "EPERM"), out[label]
        expect_refused(lab, out[label], NR[nr])
        audited(audit, out.pid, NR[nr])


@pytest.fixture
def outsider():
    """A process outside the sandbox (its own session), killed by pid afterwards."""
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    yield proc.pid
    proc.kill()
    proc.wait(timeout=10)


def _status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def test_ptrace_outside_process(lab, audit, outsider):
    out = attack(lab, "attack", "ptrace", str(outsider))
    for label, nr in (("ptrace PTRACE_ATTACH", "ptrace"), ("ptrace PTRACE_SEIZE", "ptrace"),
                      ("process_vm_readv", "process_vm_readv")):
        assert (out[label].ret, out[label].errno) == (-1, "EPERM"), out[label]
        expect_refused(lab, out[label], NR[nr])
    audited(audit, out.pid, NR["ptrace"])
    audited(audit, out.pid, NR["process_vm_readv"])
    # kill(2) passes seccomp; Landlock's signal scope refuses a process outside the domain
    assert bpf.action(decision(lab, 62, outsider, 0)) == bpf.RET_ALLOW
    assert (out["kill 0"].ret, out["kill 0"].errno) == (-1, "EPERM")
    st = _status(outsider)
    assert st["TracerPid"] == "0" and st["State"].startswith("S")


# ---- kernel settings ------------------------------------------------------------------------

def _same_value_write(lab, path: str, selected: str) -> None:
    """Write back the value `path` already has: refused, and harmless if it were not."""
    before = Path(path).read_text()
    out = attack(lab, "attack", "write", path, selected)
    r = out["open for writing"]
    assert (r.ret, r.errno) == (-1, "EROFS"), r                # the read-only bind of the launch
    assert Path(path).read_text() == before


def test_write_proc_sys(lab):
    path = "/proc/sys/vm/swappiness"
    _same_value_write(lab, path, Path(path).read_text().strip())


def test_write_sys(lab):
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if thp.exists():
        text = thp.read_text()
        value = text[text.index("[") + 1:text.index("]")]
        _same_value_write(lab, str(thp), value)
    else:
        mtu = Path("/sys/class/net/lo/mtu")
        _same_value_write(lab, str(mtu), mtu.read_text().strip())


# ---- devices ---------------------------------------------------------------------------------

def _disk() -> str:
    for name in sorted(os.listdir("/sys/block")):
        if name.startswith(("loop", "ram", "zram", "dm-", "md")):
            continue
        if os.path.exists(f"/dev/{name}"):
            return f"/dev/{name}"
    pytest.skip("no disk device node on this machine")


@pytest.fixture
def mem_node(lab):
    """A node of /dev/mem's number (c 1:1) where the app can path-walk to it (this
    machine has no /dev/mem), removed afterwards."""
    path = lab.snap / "mem"
    os.mknod(path, 0o020600, os.makedev(1, 1))
    yield str(path)
    path.unlink()


def test_device_outside_cgroup(lab, mem_node):
    disk = _disk()
    for path in (disk, mem_node, "/dev/kvm"):
        if not os.path.exists(path):
            continue
        out = attack(lab, "attack", "open", path, "r")
        assert (out["open"].ret, out["open"].errno) == (-1, "EPERM"), (path, out["open"])   # the device cgroup
    out = attack(lab, "attack", "open", "/dev/null", "rw")   # a common device: the cgroup lets it through
    assert out["open"].ret >= 0 and out["read"].ret == 0


# ---- privileges --------------------------------------------------------------------------------

def test_setuid_helper_no_new_privs(lab, audit):
    helper = lab.snap / "bin" / "suid"
    st = helper.stat()
    assert st.st_uid == 0 and st.st_mode & 0o4000            # a real setuid-root program
    out = attack(lab, "suid", user="nobody")
    lines = out.lines
    assert "nosuid=0" in lines                                  # its file system honours setuid bits...
    assert "start ruid=65534 euid=65534 suid=65534" in lines    # ...yet the exec raised nothing
    assert "setuid(0) ret=-1 errno=EPERM" in lines
    assert "after ruid=65534 euid=65534 suid=65534" in lines
    id_line = lines[-1]
    assert id_line.startswith("uid=65534(nobody) gid=65534") and "euid" not in id_line, id_line
    audited(audit, out.pid, 105, comm="suid")                   # setuid(2) is not in the allow list either


# ---- files: Landlock, private /tmp, devpts ---------------------------------------------------------

def test_landlock_write_outside_allowed_paths(lab):
    name = f"confine-escape-{uuid.uuid4().hex[:8]}"
    targets = [f"/var/tmp/{name}", f"/etc/{name}", f"/root/{name}"]
    try:
        for path in targets:                      # as root, permissions allow each: only Landlock refuses
            out = attack(lab, "attack", "create", path, "escaped\n")
            assert (out["open for writing"].ret, out["open for writing"].errno) == (-1, "EACCES"), path
            assert not os.path.exists(path)
        own = f"/root/snap/escape/x1/{name}"      # $SNAP_USER_DATA: allowed
        out = attack(lab, "attack", "create", own, "mine\n")
        assert out["open for writing"].ret >= 0 and out["write"].ret == 5
        assert Path(own).read_text() == "mine\n"
    finally:
        for path in targets + [f"/root/snap/escape/x1/{name}"]:
            if os.path.lexists(path):
                os.unlink(path)


def test_read_host_tmp(lab):
    fd, marker = tempfile.mkstemp(prefix="confine-escape-secret-", dir="/tmp")
    os.write(fd, b"secret\n")
    os.close(fd)
    try:
        out = attack(lab, "attack", "open", marker, "r")
        assert (out["open"].ret, out["open"].errno) == (-1, "ENOENT")          # a private /tmp
        out = attack(lab, "attack", "list", "/tmp")
        assert not any(line == f"entry {os.path.basename(marker)}" for line in out.lines)
        out = attack(lab, "attack", "open", f"/proc/1/root{marker}", "r")      # through init's root
        assert (out["open"].ret, out["open"].errno) == (-1, "EACCES")
    finally:
        os.unlink(marker)


def test_host_devpts(lab):
    master, slave = os.openpty()
    try:
        name = os.ttyname(slave)                                  # /dev/pts/N of the host
        out = attack(lab, "attack", "list", "/dev/pts")
        assert [line for line in out.lines if line.startswith("entry ")] == ["entry ptmx"]
        out = attack(lab, "attack", "open", name, "rw")
        assert (out["open"].ret, out["open"].errno) == (-1, "ENOENT"), out["open"]   # a new devpts instance
        out = attack(lab, "attack", "open", f"/proc/1/root{name}", "rw")
        assert (out["open"].ret, out["open"].errno) == (-1, "EACCES")
    finally:
        os.close(master)
        os.close(slave)
