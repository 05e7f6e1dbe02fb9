"""Compiled filters in the real kernel: loaded in a forked child, then syscalls with arguments.

Each check forks a child that loads the filters (deny first, allow last, as the
launcher does) and makes raw syscalls; the parent collects (return, errno) pairs.
Children are reaped by pid, and killed if they hang, even when a test fails.
The interpreter in bpf.py must predict every kernel answer too.
"""
from __future__ import annotations

import ctypes
import errno
import json
import os
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from backends.native.seccomp import bpf, compiler, grammar, load, template
from backends.native.seccomp.grammar import parse
from seccomp_oracle import snap_seccomp, snap_seccomp_path  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(os.uname().machine != "x86_64", reason="syscall numbers are x86-64's")
# A few calls succeed only with privileges (a new UTS namespace, raising priority,
# TIOCSTI on a terminal that is not ours): those checks need root.
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the allowed calls themselves need root")

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

# x86-64 syscall numbers
SYS = {"ioctl": 16, "getpid": 39, "socket": 41, "clone": 56, "kill": 62, "mknod": 133, "getpriority": 140,
       "setpriority": 141, "unshare": 272, "mknodat": 259, "kcmp": 312}
AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET = 1, 2, 10, 16, 17
SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_CLOEXEC = 1, 2, 3, 0o2000000
NETLINK_ROUTE, NETLINK_AUDIT, NETLINK_GENERIC = 0, 9, 16
PRIO_PROCESS, PRIO_PGRP, PRIO_USER = 0, 1, 2
S_IFREG, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK = 0o100000, 0o020000, 0o060000, 0o010000, 0o140000
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWUSER, CLONE_NEWNET = 0x20000, 0x04000000, 0x10000000, 0x40000000
SIGCHLD = 17
TIOCSTI, TIOCLINUX, TIOCGWINSZ, FIONREAD = 0x5412, 0x541C, 0x5413, 0x541B
AT_FDCWD = -100
HIGH = 1 << 32
U64 = (1 << 64) - 1

BASE = template.TEMPLATE


class Child:
    """Outcome of one confined child: per call (ret, errno), reported values, or its fatal signal."""

    def __init__(self, results=None, values=None, signal_=None, status=None):
        self.results = results or []
        self.values = values or []
        self.signal = signal_
        self.status = status


def _reap(pid: int, deadline: float) -> int:
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            return os.waitpid(pid, 0)[1]
        time.sleep(0.005)


def run_confined(filters: list[bytes], calls: list[tuple[int, ...]], report: list[ctypes.c_long] = (),
                 exec_argv: list[str] | None = None, timeout: float = 20.0) -> Child | bytes:
    """Fork; the child loads `filters` in order, makes each raw syscall, and reports.

    With `exec_argv` the child execs that program instead (its stdout is returned).
    """
    load._c()  # resolve libc before any filter is loaded
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            os.close(r)
            if exec_argv is not None:
                os.dup2(w, 1)
            for f in filters:
                load.load_filter(f)
            if exec_argv is not None:
                os.execv(exec_argv[0], exec_argv)
            out = []
            for call in calls:
                ret = libc.syscall(*[ctypes.c_ulong(a & U64) for a in call])
                err = ctypes.get_errno() if ret == -1 else 0
                if call[0] == SYS["clone"] and ret == 0:
                    os._exit(0)  # the clone's own child
                if call[0] == SYS["clone"] and ret > 0:
                    os.waitpid(ret, 0)
                out.append([ret, err])
            os.write(w, json.dumps([out, [v.value for v in report]]).encode())
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    os.close(w)
    deadline = time.monotonic() + timeout
    chunks = []
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([r], [], [], 0.2)
            if ready:
                data = os.read(r, 65536)
                if not data:
                    break
                chunks.append(data)
    finally:
        os.close(r)
        status = _reap(pid, deadline + 1)
    if exec_argv is not None:
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"helper ended with status {status:#x}"
        return b"".join(chunks)
    if os.WIFSIGNALED(status):
        return Child(signal_=os.WTERMSIG(status), status=status)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"child ended with status {status:#x}"
    results, values = json.loads(b"".join(chunks))
    return Child([tuple(x) for x in results], values, status=status)


def filters_of(text: str) -> tuple[list[bytes], list[bytes]]:
    """The filters of `text` in load order: linear (as snap-seccomp lays them out) and tree."""
    policy = parse(text)
    out = []
    for tree in (False, True):
        result = compiler.compile_policy(policy, tree=tree)
        out.append([f for f in (result.deny, result.allow) if f is not None])
    return out[0], out[1]


def predicted(filters: list[bytes], call: tuple[int, ...]) -> int:
    args = tuple(a & U64 for a in call[1:]) + (0,) * (7 - len(call))
    return bpf.decide(filters, bpf.SeccompData(call[0], bpf.AUDIT_ARCH_X86_64, 0, args[:6]))


def check(text: str, cases: list[tuple[tuple[int, ...], str]], report=()) -> list:
    """Run `cases` (call, expected: "ok", "EPERM", "EACCES", "ret>0") under both layouts of `text`."""
    values = []
    for filters in filters_of(text):
        child = run_confined(filters, [c for c, _ in cases], report)
        assert child.signal is None, f"child killed by signal {child.signal}"
        for (call, want), (ret, err) in zip(cases, child.results):
            got = "EPERM" if err == errno.EPERM else "EACCES" if err == errno.EACCES else \
                f"errno {errno.errorcode.get(err, err)}" if err else "ok"
            expect = "ok" if want == "ret>0" else want
            assert got == expect, f"{call}: {got}, expected {want}"
            if want == "ret>0":
                assert ret > 0
            decision = bpf.describe(predicted(filters, call))
            assert decision == {"EPERM": "errno(1)", "EACCES": "errno(13)"}.get(want, "allow"), (call, decision)
        values.append(child.values)
    return values


# ---- socket domains and types -----------------------------------------------------

def test_socket_domains_and_types():
    text = BASE + "socket AF_INET SOCK_STREAM\nsocket AF_NETLINK - NETLINK_ROUTE\nsocket AF_NETLINK SOCK_DGRAM\n" \
                  "~socket AF_NETLINK - NETLINK_AUDIT\n"
    s = SYS["socket"]
    check(text, [
        ((s, AF_INET, SOCK_STREAM, 0), "ret>0"),
        ((s, AF_INET, SOCK_DGRAM, 0), "EPERM"),
        ((s, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), "EPERM"),   # flags make the type differ
        ((s, AF_INET | HIGH, SOCK_STREAM, 0), "EPERM"),           # allow rules compare all 64 bits
        ((s, AF_INET6, SOCK_STREAM, 0), "EPERM"),
        ((s, AF_UNIX, SOCK_STREAM, 0), "ret>0"),                  # the template's own
        ((s, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), "ret>0"),
        ((s, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE), "ret>0"),
        ((s, AF_NETLINK, SOCK_DGRAM, NETLINK_GENERIC), "ret>0"),
        ((s, AF_NETLINK, SOCK_RAW, NETLINK_GENERIC), "EPERM"),
        ((s, AF_NETLINK, SOCK_DGRAM, NETLINK_AUDIT), "EACCES"),   # allowed, then explicitly denied
        ((s, AF_PACKET, SOCK_RAW, 0), "EPERM"),
    ])


# ---- setpriority -------------------------------------------------------------------

@needs_root
def test_setpriority_only_lowers_the_callers_own_priority():
    sp = SYS["setpriority"]
    check(BASE, [
        ((sp, PRIO_PROCESS, 0, 5), "ok"),
        ((sp, PRIO_PROCESS, 0, 19), "ok"),
        ((sp, PRIO_PGRP, 0, 5), "EPERM"),
        ((sp, PRIO_USER, 0, 5), "EPERM"),
        ((sp, PRIO_PROCESS, 1, 5), "EPERM"),
        ((sp, PRIO_PROCESS | HIGH, 0, 5), "EPERM"),
        ((SYS["getpriority"], PRIO_PGRP, 0), "ret>0"),
        # `>=0` compares 64 bits unsigned: a sign-extended -1 passes the filter (the
        # kernel then decides; root may raise its priority)
        ((sp, PRIO_PROCESS, 0, -1), "ok"),
    ])


# ---- mknod modes -------------------------------------------------------------------

def test_mknod_modes(tmp_path: Path):
    names = ["fifo", "reg", "sock", "chr", "blk", "fifo2", "chr2", "reg2"]
    bufs = {n: ctypes.create_string_buffer(str(tmp_path / n).encode()) for n in names}
    addr = {n: ctypes.addressof(b) for n, b in bufs.items()}
    dev13, dev70 = os.makedev(1, 3), os.makedev(7, 0)
    mk, mkat = SYS["mknod"], SYS["mknodat"]
    for layout, filters in enumerate(filters_of(BASE)):
        for n in names:
            (tmp_path / n).unlink(missing_ok=True)
        cases = [
            ((mk, addr["fifo"], S_IFIFO | 0o600, 0), "ok"),
            ((mk, addr["reg"], S_IFREG | 0o600, 0), "ok"),
            ((mk, addr["sock"], S_IFSOCK | 0o600, 0), "ok"),
            ((mk, addr["chr"], S_IFCHR | 0o600, dev13), "EPERM"),
            ((mk, addr["blk"], S_IFBLK | 0o600, dev70), "EPERM"),
            ((mkat, AT_FDCWD, addr["fifo2"], S_IFIFO | 0o644, 0), "ok"),
            ((mkat, AT_FDCWD, addr["chr2"], S_IFCHR | 0o644, dev13), "EPERM"),
            ((mkat, AT_FDCWD, addr["reg2"], S_IFREG | 0o644, 0), "ok"),
        ]
        child = run_confined(filters, [c for c, _ in cases])
        for (call, want), (ret, err) in zip(cases, child.results):
            assert (errno.errorcode.get(err, "ok") if err else "ok") == want, (layout, call, ret, err)
            assert bpf.describe(predicted(filters, call)) == ("allow" if want == "ok" else "errno(1)")
    assert (tmp_path / "fifo").exists() and not (tmp_path / "chr").exists()


# ---- clone flags -------------------------------------------------------------------

@needs_root
def test_clone_flags_explicit_denials():
    c = SYS["clone"]
    text = BASE + "~clone |CLONE_NEWUSER\n~clone |CLONE_NEWNET\n"
    check(text, [
        ((c, SIGCHLD, 0, 0, 0, 0), "ret>0"),
        ((c, SIGCHLD | CLONE_NEWUSER, 0, 0, 0, 0), "EACCES"),
        ((c, SIGCHLD | CLONE_NEWNET | CLONE_NEWUTS, 0, 0, 0, 0), "EACCES"),
        ((c, SIGCHLD | CLONE_NEWUTS, 0, 0, 0, 0), "ret>0"),
        ((c, SIGCHLD | CLONE_NEWUSER | HIGH, 0, 0, 0, 0), "EACCES"),
    ])


@needs_root
def test_clone_flags_allow_rule():
    c = SYS["clone"]
    text = BASE.replace("\nclone\n", "\nclone 17\nclone |CLONE_NEWNS\n")
    assert text != BASE
    check(text, [
        ((c, SIGCHLD, 0, 0, 0, 0), "ret>0"),
        ((c, SIGCHLD | CLONE_NEWUTS, 0, 0, 0, 0), "EPERM"),
        ((c, SIGCHLD | CLONE_NEWNS, 0, 0, 0, 0), "ret>0"),
        ((c, SIGCHLD | HIGH, 0, 0, 0, 0), "EPERM"),
    ])


# ---- TIOCSTI and TIOCLINUX -----------------------------------------------------------

@pytest.fixture
def pty():
    master, slave = os.openpty()
    try:
        yield master, slave
    finally:
        os.close(master)
        os.close(slave)


def test_tiocsti_and_tioclinux_are_denied_with_and_without_high_bits(pty):
    _, slave = pty
    ch = ctypes.create_string_buffer(b"\n")
    sub = ctypes.create_string_buffer(b"\x06")  # TIOCLINUX subcode: get the selection mode
    ws = ctypes.create_string_buffer(8)
    i = SYS["ioctl"]
    check(BASE, [
        ((i, slave, TIOCSTI, ctypes.addressof(ch)), "EACCES"),
        ((i, slave, TIOCSTI | HIGH, ctypes.addressof(ch)), "EACCES"),
        ((i, slave, TIOCSTI | (0xFFFFFFFF << 32), ctypes.addressof(ch)), "EACCES"),
        ((i, slave, TIOCLINUX, ctypes.addressof(sub)), "EACCES"),
        ((i, slave, TIOCLINUX | HIGH, ctypes.addressof(sub)), "EACCES"),
        ((i, slave, TIOCGWINSZ, ctypes.addressof(ws)), "ok"),
    ])


@needs_root
def test_snap_seccomp_lets_tiocsti_through_with_high_bits(pty, snap_seccomp):  # noqa: F811
    """The hole our explicit denial closes: snapd 2.57's `ioctl - !TIOCSTI`."""
    _, slave = pty
    snapd_style = grammar.without_denials(BASE).replace("\nioctl\n", "\nioctl - !TIOCSTI\n")
    theirs = snap_seccomp.compile(snapd_style)
    ch = ctypes.create_string_buffer(b"\n")
    queued = ctypes.c_int(-1)
    i = SYS["ioctl"]
    child = run_confined([theirs], [(i, slave, TIOCSTI, ctypes.addressof(ch)),
                                    (i, slave, TIOCSTI | HIGH, ctypes.addressof(ch)),
                                    (i, slave, FIONREAD, ctypes.addressof(queued))], report=[queued])
    assert child.results[0][1] == errno.EPERM
    assert child.results[1] == (0, 0), "the kernel ran TIOCSTI with the high bits cut off"
    assert child.values == [1], "one byte was pushed into the terminal's input"
    # ours, on the same text plus the template's denials
    ours = filters_of(snapd_style + "\n~ioctl - TIOCSTI\n")[0]
    child = run_confined(ours, [(i, slave, TIOCSTI | HIGH, ctypes.addressof(ch))])
    assert child.results[0][1] == errno.EACCES


# ---- what the template refuses, complain mode, unrestricted ----------------------------

def test_unlisted_calls_get_eperm_and_complain_mode_only_logs():
    pid = os.getpid()
    cases = [((SYS["kcmp"], pid, pid, 0, 0, 0), "EPERM"), ((SYS["unshare"], 0), "EPERM"),
             ((SYS["getpid"],), "ret>0")]
    check(BASE, cases)
    pol = parse("@complain\n" + BASE)
    result = compiler.compile_policy(pol)
    assert bpf.describe(bpf.run(result.allow, bpf.SeccompData(SYS["unshare"]))) == "log"
    slave_free = [(SYS["unshare"], 0), (SYS["ioctl"], 0, TIOCSTI, 0)]
    child = run_confined([result.deny, result.allow], slave_free)
    assert child.results[0] == (0, 0)                 # logged, not refused
    assert child.results[1][1] == errno.EACCES        # explicit denials hold in complain mode too


def test_unrestricted_means_no_filter(tmp_path: Path):
    out = tmp_path / "u.bin"
    src = tmp_path / "u.src"
    src.write_text("@unrestricted\nread\n~ioctl - TIOCSTI\n")
    result = compiler.compile_file(src, out)
    assert result.unrestricted and out.read_bytes() == compiler.UNRESTRICTED
    assert not (tmp_path / "u.bin.deny").exists()
    assert load.is_unrestricted(out.read_bytes())
    assert load.load_files(out, tmp_path / "u.bin.deny") == ["unrestricted"]  # loads nothing


# ---- x32: refused by the filter itself ------------------------------------------------

def test_x32_calls_are_killed_by_the_filter():
    """The kernel here has no x32 ABI (such calls would return ENOSYS): the filter's
    own decision is what refuses them, in the interpreter and in the kernel."""
    for filters in filters_of(BASE):
        for nr in (0, 1, 39, 41, 16, 0x200, 0x3FF):
            data = bpf.SeccompData(bpf.X32_SYSCALL_BIT | nr, bpf.AUDIT_ARCH_X86_64)
            for f in filters:
                assert bpf.describe(bpf.run(f, data)) == "kill_thread"
        # and another ABI altogether (aarch64's audit arch) is refused the same way
        assert bpf.describe(bpf.decide(filters, bpf.SeccompData(0, 0xC00000B7))) == "kill_thread"
        child = run_confined(filters, [(SYS["getpid"],), (bpf.X32_SYSCALL_BIT | SYS["getpid"],)])
        assert child.signal == signal.SIGSYS


# ---- i386 through int 0x80 --------------------------------------------------------------

HELPER_C = r"""
/* A 32-bit program without libc: each argument "nr,a,b,c" is one int 0x80 call
   (an argument "P" is the address of a scratch byte); prints each result. */
static long sys3(long nr, long a, long b, long c) {
    long r;
    __asm__ volatile ("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return r;
}
static char scratch[16] = "\n";
static long num(const char **p) {
    long sign = 1, v = 0;
    if (**p == 'P') { (*p)++; return (long)scratch; }
    if (**p == '-') { sign = -1; (*p)++; }
    while (**p >= '0' && **p <= '9') { v = v * 10 + (**p - '0'); (*p)++; }
    return sign * v;
}
static void put(long v) {
    char buf[24]; int i = 23; unsigned long u = v < 0 ? -v : v;
    buf[i--] = '\n';
    do { buf[i--] = '0' + u % 10; u /= 10; } while (u);
    if (v < 0) buf[i--] = '-';
    sys3(4, 1, (long)(buf + i + 1), 23 - i);
}
void cmain(long *sp) {
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    for (long k = 1; k < argc; k++) {
        const char *p = argv[k];
        long v[4] = {0, 0, 0, 0};
        for (int j = 0; j < 4 && *p; j++) { v[j] = num(&p); if (*p == ',') p++; }
        put(sys3(v[0], v[1], v[2], v[3]));
    }
    sys3(1, 0, 0, 0);
}
__asm__(".globl _start\n_start:\n  mov %esp, %eax\n  push %eax\n  call cmain\n  hlt\n");
"""


@pytest.fixture(scope="session")
def i386_helper(tmp_path_factory) -> str:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.fail("gcc is needed to build the 32-bit helper (install gcc; gcc-multilib is not required)",
                    pytrace=False)
    d = tmp_path_factory.mktemp("i386")
    (d / "helper.c").write_text(HELPER_C)
    out = d / "helper32"
    proc = subprocess.run([gcc, "-m32", "-static", "-nostdlib", "-ffreestanding", "-fno-pie", "-no-pie",
                           "-fno-stack-protector", "-O1", "-o", str(out), str(d / "helper.c")],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"gcc -m32 failed: {proc.stderr.strip()[-800:]}", pytrace=False)
    return str(out)


I386 = {"exit": 1, "getpid": 20, "ioctl": 54, "setpriority": 97, "getuid32": 199, "kcmp": 349, "socket": 359}


def test_i386_calls_through_int_0x80(i386_helper, pty):
    _, slave = pty
    os.set_inheritable(slave, True)
    calls = [
        (I386["getpid"], 0, 0, 0),
        (I386["getuid32"], 0, 0, 0),
        (I386["setpriority"], PRIO_PROCESS, 0, 5),
        (I386["setpriority"], PRIO_PGRP, 0, 5),
        (I386["socket"], AF_INET, SOCK_STREAM, 0),
        (I386["socket"], AF_INET, SOCK_DGRAM, 0),
        (I386["socket"], AF_UNIX, SOCK_STREAM, 0),
        (I386["kcmp"], 0, 0, 0),
        (I386["ioctl"], slave, TIOCSTI, "P"),
        (I386["ioctl"], slave, TIOCGWINSZ, "P"),
    ]
    argv = [i386_helper] + [",".join(str(x) for x in c) for c in calls]
    text = BASE + "socket AF_INET SOCK_STREAM\n"
    unconfined = run_confined([], [], exec_argv=argv).decode().split()
    assert len(unconfined) == len(calls) and int(unconfined[0]) > 0
    for filters in filters_of(text):
        got = [int(x) for x in run_confined(filters, [], exec_argv=argv).decode().split()]
        assert len(got) == len(calls), got
        assert got[0] > 0 and got[1] == os.getuid() and got[2] == 0
        assert got[3] == -errno.EPERM
        assert got[4] >= 0 and got[5] == -errno.EPERM and got[6] >= 0
        assert got[7] == -errno.EPERM
        assert got[8] == -errno.EACCES
        assert got[9] == 0
        for call, ret in zip(calls, got):
            args = tuple(0 if a == "P" else a & 0xFFFFFFFF for a in call[1:]) + (0, 0, 0)
            want = bpf.describe(bpf.decide(filters, bpf.SeccompData(call[0], bpf.AUDIT_ARCH_I386, 0, args)))
            assert want == ("allow" if ret >= 0 else f"errno({-ret})"), (call, ret, want)


# ---- the loader -------------------------------------------------------------------------

def test_load_filter_refuses_what_is_not_a_filter():
    for bad in (b"", b"\x00" * 7, b"\x00" * 8 * 4097, compiler.UNRESTRICTED):
        with pytest.raises(OSError) as info:
            load.load_filter(bad)
        assert info.value.errno == errno.EINVAL


def test_kernel_refusal_is_an_oserror_in_the_child():
    jump_out = bytes.fromhex("0500000005000000")  # ja +5: past the end
    load._c()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            load.load_filter(jump_out)
            os.write(w, b"loaded")
        except OSError as exc:
            os.write(w, str(exc.errno).encode())
        finally:
            os._exit(0)
    os.close(w)
    try:
        ready, _, _ = select.select([r], [], [], 20)
        msg = os.read(r, 100) if ready else b"timeout"
    finally:
        os.close(r)
        _reap(pid, time.monotonic() + 5)
    assert msg == str(errno.EINVAL).encode()


def test_load_files_loads_deny_then_allow(tmp_path: Path):
    src = tmp_path / "p.src"
    src.write_text(BASE)
    compiler.compile_file(src, tmp_path / "p.bin", tree=True)
    load._c()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            loaded = load.load_files(tmp_path / "p.bin", tmp_path / "p.bin.deny")
            ret = libc.syscall(ctypes.c_long(SYS["ioctl"]), ctypes.c_long(0), ctypes.c_long(TIOCSTI), ctypes.c_long(0))
            os.write(w, json.dumps([loaded, ret, ctypes.get_errno()]).encode())
        finally:
            os._exit(0)
    os.close(w)
    try:
        ready, _, _ = select.select([r], [], [], 20)
        data = os.read(r, 1000) if ready else b"null"
    finally:
        os.close(r)
        _reap(pid, time.monotonic() + 5)
    assert json.loads(data) == [["deny", "allow"], -1, errno.EACCES]
