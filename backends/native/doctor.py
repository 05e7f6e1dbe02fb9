"""Probe the running kernel once and report which enforcement layers exist.

``confine doctor`` shows the result of :func:`probe`. Every probe catches its
own errors and reports them as an unavailable layer with the reason; nothing
here raises. Nothing here changes the system either: probes that must try
something (install a seccomp filter, unshare a namespace) do it in a forked
child that exits at once; the BPF program loaded for the device-cgroup probe
is never attached and its fd is closed; no cgroup or mount is created.

Only the standard library is imported (ctypes for the raw syscalls).
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno as _errno
import json
import os
import select
import shutil
import signal
import socket
import struct
import time
import warnings
from collections.abc import Callable

__all__ = ["Layer", "probe", "probe_layer", "probe_json", "format_report", "LAYER_NAMES"]


@dataclasses.dataclass(frozen=True)
class Layer:
    name: str
    available: bool
    detail: str
    facts: dict = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "available": self.available,
            "detail": self.detail,
            "facts": _jsonable(self.facts),
        }


LAYER_NAMES = (
    "seccomp",
    "landlock",
    "apparmor-kernel",
    "apparmor-parser",
    "cgroup-v1-devices",
    "cgroup-v2-device-bpf",
    "mount-namespace",
    "pid-namespace",
    "user-namespace",
    "audit-netlink",
    "udevd",
    "kernel-modules",
)

# --------------------------------------------------------------------------
# low-level helpers

_MACHINE = os.uname().machine
# Per-architecture syscall numbers (the newer ones are shared by all arches).
_SYSCALLS = {
    "x86_64": {"seccomp": 317, "bpf": 321},
    "aarch64": {"seccomp": 277, "bpf": 280},
    "riscv64": {"seccomp": 277, "bpf": 280},
    "ppc64le": {"seccomp": 358, "bpf": 361},
    "s390x": {"seccomp": 348, "bpf": 351},
}
_NR_LANDLOCK_CREATE_RULESET = 444
_NR_LSM_LIST_MODULES = 461

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000

_libc_cache: list = []


def _libc() -> ctypes.CDLL:
    # CDLL(None) gives the symbols already linked into the interpreter (libc),
    # avoiding ctypes.util.find_library, which runs ldconfig (tens of ms).
    if not _libc_cache:
        lib = ctypes.CDLL(None, use_errno=True)
        lib.syscall.restype = ctypes.c_long
        lib.prctl.restype = ctypes.c_int
        lib.unshare.restype = ctypes.c_int
        lib.unshare.argtypes = [ctypes.c_int]
        _libc_cache.append(lib)
    return _libc_cache[0]


def _nr(name: str) -> int | None:
    return _SYSCALLS.get(_MACHINE, {}).get(name)


def _syscall(nr: int, *args) -> tuple[int, int]:
    """Return (result, errno); errno is 0 on success."""
    lib = _libc()
    ctypes.set_errno(0)
    res = lib.syscall(ctypes.c_long(nr), *args)
    return res, (ctypes.get_errno() if res == -1 else 0)


def _errname(err: int) -> str:
    return f"{_errno.errorcode.get(err, str(err))} ({os.strerror(err)})"


def _read(path: str) -> str | None:
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as fh:
            return fh.read().strip()
    except OSError:
        return None


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))


def _is_root() -> bool:
    return os.geteuid() == 0


def _run_child(fn: Callable[[], bytes], timeout: float = 2.0) -> tuple[int | None, bytes]:
    """Run ``fn`` in a forked child; return (exit status, bytes it returned).

    The child writes what ``fn`` returns to a pipe and leaves with os._exit,
    so no atexit handler or buffered output of the parent runs twice. Exit
    status 0 means fn returned; 125 means it raised (the payload is the
    repr); None means it was killed or did not exit in time.
    """
    rfd, wfd = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # child
        code = 125
        try:
            os.close(rfd)
            try:
                out = fn()
                code = 0
            except BaseException as exc:  # noqa: BLE001 - reported to parent
                out = repr(exc).encode()
            os.write(wfd, out[:4096])
        finally:
            os._exit(code)
    os.close(wfd)
    chunks = []
    deadline = time.monotonic() + timeout
    status = None
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([rfd], [], [], left)
            if not ready:
                break
            data = os.read(rfd, 4096)
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(rfd)
    # Reap the child; kill it if it overstays.
    while True:
        try:
            wpid, wstatus = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            break
        if wpid == pid:
            if os.WIFEXITED(wstatus):
                status = os.WEXITSTATUS(wstatus)
            break
        if time.monotonic() > deadline:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            break
        time.sleep(0.0005)
    return status, b"".join(chunks)


def _mountinfo() -> list[dict]:
    """Parse /proc/self/mountinfo into dicts (mount point, fstype, options)."""
    def unescape(s: str) -> str:
        out, i = [], 0
        while i < len(s):
            if s[i] == "\\" and i + 3 < len(s) and s[i + 1:i + 4].isdigit():
                out.append(chr(int(s[i + 1:i + 4], 8)))
                i += 4
            else:
                out.append(s[i])
                i += 1
        return "".join(out)

    mounts = []
    text = _read("/proc/self/mountinfo") or ""
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        lf, rf = left.split(), right.split()
        if len(lf) < 6 or len(rf) < 3:
            continue
        mounts.append({
            "mount_point": unescape(lf[4]),
            "mount_options": lf[5].split(","),
            "fstype": rf[0],
            "source": unescape(rf[1]),
            "super_options": rf[2].split(","),
        })
    return mounts


# --------------------------------------------------------------------------
# seccomp

SECCOMP_SET_MODE_FILTER = 1
SECCOMP_GET_ACTION_AVAIL = 2
SECCOMP_GET_NOTIF_SIZES = 3
PR_GET_SECCOMP = 21
PR_SET_NO_NEW_PRIVS = 38

_SECCOMP_ACTIONS = {
    "kill_process": 0x80000000,
    "kill_thread": 0x00000000,
    "trap": 0x00030000,
    "errno": 0x00050000,
    "user_notif": 0x7FC00000,
    "trace": 0x7FF00000,
    "log": 0x7FFC0000,
    "allow": 0x7FFF0000,
}
_SECCOMP_FLAGS = {
    "tsync": 1,
    "log": 2,
    "spec_allow": 4,
    "new_listener": 8,
    "tsync_esrch": 16,
    "wait_killable_recv": 32,
}
# Flags that are only valid together with another one.
_SECCOMP_FLAG_COMBOS = {
    "tsync_esrch": 1 | 16,
    "wait_killable_recv": 8 | 32,
}


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8),
                ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _probe_seccomp() -> Layer:
    name = "seccomp"
    facts: dict = {}
    lib = _libc()
    ctypes.set_errno(0)
    mode = lib.prctl(ctypes.c_int(PR_GET_SECCOMP), ctypes.c_ulong(0), ctypes.c_ulong(0),
                     ctypes.c_ulong(0), ctypes.c_ulong(0))
    prctl_err = ctypes.get_errno() if mode < 0 else 0
    facts["current_mode"] = mode if mode >= 0 else None
    avail_text = _read("/proc/sys/kernel/seccomp/actions_avail")
    logged_text = _read("/proc/sys/kernel/seccomp/actions_logged")
    facts["actions"] = avail_text.split() if avail_text is not None else []
    facts["actions_logged"] = logged_text.split() if logged_text is not None else []
    if mode < 0 and avail_text is None:
        return Layer(name, False,
                     f"no seccomp in this kernel (prctl(PR_GET_SECCOMP): {_errname(prctl_err)})",
                     facts)

    nr = _nr("seccomp")
    facts["syscall"] = nr
    if nr is None:
        return Layer(name, True,
                     f"seccomp present; syscall number unknown on {_MACHINE}, flags not probed",
                     facts)

    # Actions via SECCOMP_GET_ACTION_AVAIL (a pure query).
    via_syscall = []
    for act, val in _SECCOMP_ACTIONS.items():
        v = ctypes.c_uint32(val)
        res, err = _syscall(nr, ctypes.c_uint(SECCOMP_GET_ACTION_AVAIL), ctypes.c_uint(0),
                            ctypes.byref(v))
        if res == 0:
            via_syscall.append(act)
    facts["actions_get_action_avail"] = via_syscall
    if not facts["actions"]:
        facts["actions"] = via_syscall

    # User-notification structure sizes (a pure query).
    sizes = (ctypes.c_uint16 * 3)()
    res, err = _syscall(nr, ctypes.c_uint(SECCOMP_GET_NOTIF_SIZES), ctypes.c_uint(0), sizes)
    if res == 0:
        facts["notif_sizes"] = {"seccomp_notif": sizes[0], "seccomp_notif_resp": sizes[1],
                                "seccomp_data": sizes[2]}
    else:
        facts["notif_sizes"] = None

    # Filter flags: a forked child installs a one-instruction allow-all filter
    # with each flag and reports which installs succeeded. The caller is
    # never filtered.
    insn = (_SockFilter * 1)(_SockFilter(0x06, 0, 0, 0x7FFF0000))  # BPF_RET|BPF_K ALLOW
    prog = _SockFprog(1, ctypes.cast(insn, ctypes.POINTER(_SockFilter)))
    order = list(_SECCOMP_FLAGS)

    def child() -> bytes:
        lib.prctl(ctypes.c_int(PR_SET_NO_NEW_PRIVS), ctypes.c_ulong(1), ctypes.c_ulong(0),
                  ctypes.c_ulong(0), ctypes.c_ulong(0))
        results = {}
        # Only one filter in a task's tree may own a listener (EBUSY
        # otherwise): try the listener combination first; if it installs,
        # new_listener is proven by it and is not installed a second time.
        for flag in sorted(order, key=lambda f: f != "wait_killable_recv"):
            if flag == "new_listener" and results.get("wait_killable_recv") == "1":
                results[flag] = "1"
                continue
            bits = _SECCOMP_FLAG_COMBOS.get(flag, _SECCOMP_FLAGS[flag])
            ctypes.set_errno(0)
            res = lib.syscall(ctypes.c_long(nr), ctypes.c_uint(SECCOMP_SET_MODE_FILTER),
                              ctypes.c_uint(bits), ctypes.byref(prog))
            results[flag] = "1" if res >= 0 else str(ctypes.get_errno())
        return ",".join(results[f] for f in order).encode()

    status, payload = _run_child(child)
    flags: dict = {}
    if status == 0:
        for flag, res in zip(order, payload.decode().split(",")):
            flags[flag] = res == "1"
            if res != "1":
                try:
                    facts.setdefault("flag_errors", {})[flag] = _errname(int(res))
                except ValueError:
                    facts.setdefault("flag_errors", {})[flag] = res
    else:
        facts["flag_probe_error"] = (
            f"child exited with {status}: {payload.decode(errors='replace')}")
    facts["flags"] = flags
    facts["user_notif"] = bool(
        "user_notif" in facts["actions"] and facts["notif_sizes"] and flags.get("new_listener"))

    detail = "actions: " + " ".join(facts["actions"])
    if flags:
        detail += "; flags: " + " ".join(f for f, ok in flags.items() if ok)
    else:
        detail += "; flags not probed"
    if facts["current_mode"]:
        detail += f"; this process already runs under seccomp mode {facts['current_mode']}"
    return Layer(name, True, detail, facts)


# --------------------------------------------------------------------------
# Landlock

_LANDLOCK_ABI_ADDS = {
    1: ["fs: execute read_file write_file read_dir remove_dir remove_file "
        "make_char make_dir make_reg make_sock make_fifo make_block make_sym"],
    2: ["fs: refer (rename/link across directories)"],
    3: ["fs: truncate"],
    4: ["net: bind_tcp connect_tcp"],
    5: ["fs: ioctl_dev"],
    6: ["scope: abstract_unix_socket signal"],
    7: ["audit: restrict_self flags log_same_exec_off log_new_exec_on log_subdomains_off"],
}


def _landlock_features(abi: int) -> dict:
    return {
        "fs_basic": abi >= 1,
        "fs_refer": abi >= 2,
        "fs_truncate": abi >= 3,
        "net_tcp_bind_connect": abi >= 4,
        "fs_ioctl_dev": abi >= 5,
        "scoping": abi >= 6,
        "audit_logging_flags": abi >= 7,
    }


def _probe_landlock() -> Layer:
    name = "landlock"
    res, err = _syscall(_NR_LANDLOCK_CREATE_RULESET, ctypes.c_void_p(None), ctypes.c_size_t(0),
                        ctypes.c_uint32(1))  # LANDLOCK_CREATE_RULESET_VERSION
    if res < 0:
        if err == _errno.ENOSYS:
            why = "not in this kernel (CONFIG_SECURITY_LANDLOCK unset)"
        elif err == _errno.EOPNOTSUPP:
            why = "built in but disabled at boot (not in the lsm= list)"
        else:
            why = f"landlock_create_ruleset failed: {_errname(err)}"
        return Layer(name, False, why, {"abi": 0, "errno": err})
    abi = int(res)
    facts: dict = {"abi": abi, "features": _landlock_features(abi),
                   "adds": {str(k): v for k, v in _LANDLOCK_ABI_ADDS.items() if k <= abi}}
    e_res, e_err = _syscall(_NR_LANDLOCK_CREATE_RULESET, ctypes.c_void_p(None),
                            ctypes.c_size_t(0), ctypes.c_uint32(2))  # ..._ERRATA
    facts["errata"] = int(e_res) if e_res >= 0 else None
    top = [k for k, v in facts["features"].items() if v]
    return Layer(name, True, f"ABI {abi}: " + ", ".join(top), facts)


# --------------------------------------------------------------------------
# AppArmor

_LSM_IDS = {
    100: "capability", 101: "selinux", 102: "smack", 103: "tomoyo", 104: "apparmor",
    105: "yama", 106: "loadpin", 107: "safesetid", 108: "lockdown", 109: "bpf",
    110: "landlock", 111: "ima", 112: "evm", 113: "ipe",
}


def _active_lsms() -> tuple[list[str] | None, str]:
    text = _read("/sys/kernel/security/lsm")
    if text is not None:
        return [x for x in text.split(",") if x], "/sys/kernel/security/lsm"
    # securityfs may not be mounted; lsm_list_modules(2) (Linux 6.8+) answers too.
    ids = (ctypes.c_uint64 * 64)()
    size = ctypes.c_uint32(ctypes.sizeof(ids))
    res, err = _syscall(_NR_LSM_LIST_MODULES, ids, ctypes.byref(size), ctypes.c_uint32(0))
    if res > 0:
        return [_LSM_IDS.get(ids[i], f"id{ids[i]}") for i in range(res)], "lsm_list_modules(2)"
    return None, f"unknown (no /sys/kernel/security/lsm; lsm_list_modules: {_errname(err)})"


def _kernel_config_value(option: str) -> str | None:
    """Value of a CONFIG_ option from /proc/config.gz; 'n' if 'is not set'."""
    import gzip

    try:
        with gzip.open("/proc/config.gz", "rt", errors="replace") as fh:
            for line in fh:
                if line.startswith(option + "="):
                    return line.strip().split("=", 1)[1]
                if line.startswith(f"# {option} is not set"):
                    return "n"
    except (OSError, EOFError):
        return None
    return None


def _probe_apparmor_kernel() -> Layer:
    name = "apparmor-kernel"
    lsms, lsm_source = _active_lsms()
    securityfs = os.path.isdir("/sys/kernel/security/apparmor")
    enabled_param = _read("/sys/module/apparmor/parameters/enabled")
    facts: dict = {
        "lsms": lsms,
        "lsm_source": lsm_source,
        "securityfs_apparmor": securityfs,
        "module_param_enabled": enabled_param,
        "securityfs_mounted": any(m["fstype"] == "securityfs" for m in _mountinfo()),
    }
    active = securityfs or enabled_param == "Y" or (lsms is not None and "apparmor" in lsms)
    lsm_txt = ",".join(lsms) if lsms is not None else "unknown"
    if active:
        if not securityfs:
            return Layer(name, True,
                         f"AppArmor is active (LSMs: {lsm_txt}) but securityfs is not mounted at "
                         "/sys/kernel/security: profiles cannot be loaded until it is", facts)
        return Layer(name, True, f"AppArmor is active (LSMs: {lsm_txt})", facts)
    if enabled_param is not None:
        facts["kernel_config"] = None
        why = "built in but disabled at boot"
    else:
        cfg = _kernel_config_value("CONFIG_SECURITY_APPARMOR")
        facts["kernel_config"] = {"CONFIG_SECURITY_APPARMOR": cfg}
        why = "not in this kernel"
        if cfg == "n":
            why += " (CONFIG_SECURITY_APPARMOR is not set)"
    return Layer(name, False,
                 f"{why}: profiles are compiled but never loaded (LSMs: {lsm_txt})", facts)


def _probe_apparmor_parser() -> Layer:
    name = "apparmor-parser"
    path = shutil.which("apparmor_parser")
    if path is None:
        for cand in ("/sbin/apparmor_parser", "/usr/sbin/apparmor_parser"):
            if os.access(cand, os.X_OK):
                path = cand
                break
    if path is None:
        return Layer(name, False,
                     "apparmor_parser not found: AppArmor profiles can be generated as text only",
                     {"path": None})
    facts: dict = {"path": path}
    import subprocess

    try:
        proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=5,
                              stdin=subprocess.DEVNULL)
        out = (proc.stdout or proc.stderr).strip()
        first = out.splitlines()[0] if out else ""
        facts["version_output"] = first
        ver = first.split()[-1] if first else None
        facts["version"] = ver
        return Layer(name, True, f"{path} {ver or '(version unknown)'}", facts)
    except (OSError, subprocess.SubprocessError) as exc:
        facts["error"] = repr(exc)
        return Layer(name, True, f"{path} (--version failed: {exc})", facts)


# --------------------------------------------------------------------------
# cgroups

def _probe_cgroup_v1_devices() -> Layer:
    name = "cgroup-v1-devices"
    for m in _mountinfo():
        if m["fstype"] == "cgroup" and "devices" in m["super_options"]:
            mp = m["mount_point"]
            writable = os.access(mp, os.W_OK)
            facts = {"mount_point": mp, "writable": writable,
                     "read_only": "ro" in m["mount_options"]}
            if "ro" in m["mount_options"] or not writable:
                return Layer(name, False, f"mounted at {mp} but not writable here", facts)
            return Layer(name, True, f"devices controller at {mp}", facts)
    return Layer(name, False, "no cgroup v1 mount with the devices controller",
                 {"mount_point": None})


BPF_PROG_LOAD = 5
BPF_PROG_TYPE_CGROUP_DEVICE = 15


def _probe_cgroup_v2_device_bpf() -> Layer:
    name = "cgroup-v2-device-bpf"
    mounts = [m["mount_point"] for m in _mountinfo() if m["fstype"] == "cgroup2"]
    facts: dict = {"mount_point": mounts[0] if mounts else None, "all_mount_points": mounts}
    nr = _nr("bpf")
    if nr is None:
        facts["bpf_prog_load"] = None
        return Layer(name, False, f"bpf(2) syscall number unknown on {_MACHINE}", facts)
    # r0 = 1 (BPF_ALU64|BPF_MOV|BPF_K); exit (BPF_JMP|BPF_EXIT)
    insns = struct.pack("<BBhiBBhi", 0xB7, 0x00, 0, 1, 0x95, 0x00, 0, 0)
    insn_buf = ctypes.create_string_buffer(insns, len(insns))
    license_buf = ctypes.create_string_buffer(b"GPL")
    attr = ctypes.create_string_buffer(128)  # zero tail is accepted by the kernel
    struct.pack_into("<IIQQIIQII", attr, 0,
                     BPF_PROG_TYPE_CGROUP_DEVICE, 2,
                     ctypes.addressof(insn_buf), ctypes.addressof(license_buf),
                     0, 0, 0, 0, 0)
    fd, err = _syscall(nr, ctypes.c_int(BPF_PROG_LOAD), attr, ctypes.c_uint(ctypes.sizeof(attr)))
    if fd >= 0:
        os.close(fd)
        facts["bpf_prog_load"] = True
    else:
        facts["bpf_prog_load"] = False
        facts["bpf_errno"] = _errname(err)
    if not mounts:
        why = "no cgroup2 mount"
        if fd >= 0:
            why += " (BPF_PROG_TYPE_CGROUP_DEVICE loads)"
        return Layer(name, False, why, facts)
    if fd < 0:
        hint = " (needs root / CAP_BPF)" if err == _errno.EPERM and not _is_root() else ""
        return Layer(name, False,
                     f"cgroup2 at {mounts[0]} but BPF_PROG_LOAD of a device program failed: "
                     f"{_errname(err)}{hint}", facts)
    return Layer(name, True, f"cgroup2 at {mounts[0]}; device BPF program loads", facts)


# --------------------------------------------------------------------------
# namespaces

def _unshare_in_child(flag: int, drop_to: int | None = None) -> tuple[bool, str]:
    lib = _libc()

    def child() -> bytes:
        if drop_to is not None:
            os.setgroups([])
            os.setgid(drop_to)
            os.setuid(drop_to)
        ctypes.set_errno(0)
        rc = lib.unshare(flag)
        return b"0" if rc == 0 else str(ctypes.get_errno()).encode()

    status, payload = _run_child(child)
    if status != 0:
        return False, f"probe child failed ({status}): {payload.decode(errors='replace')}"
    if payload == b"0":
        return True, "unshare works"
    try:
        return False, f"unshare failed: {_errname(int(payload))}"
    except ValueError:
        return False, f"unshare failed: {payload!r}"


def _probe_ns(name: str, flag: int, what: str) -> Layer:
    ok, msg = _unshare_in_child(flag)
    facts = {"unshare": ok, "root": _is_root()}
    if ok:
        return Layer(name, True, f"unshare({what}) works", facts)
    hint = "" if _is_root() else " (not root: needs CAP_SYS_ADMIN or a user namespace)"
    facts["error"] = msg
    return Layer(name, False, f"unshare({what}): {msg}{hint}", facts)


def _probe_mount_ns() -> Layer:
    return _probe_ns("mount-namespace", CLONE_NEWNS, "CLONE_NEWNS")


def _probe_pid_ns() -> Layer:
    return _probe_ns("pid-namespace", CLONE_NEWPID, "CLONE_NEWPID")


def _probe_user_ns() -> Layer:
    name = "user-namespace"
    facts: dict = {"root": _is_root()}
    max_ns = _read("/proc/sys/user/max_user_namespaces")
    facts["max_user_namespaces"] = int(max_ns) if max_ns and max_ns.isdigit() else None
    clone = _read("/proc/sys/kernel/unprivileged_userns_clone")
    facts["unprivileged_userns_clone"] = int(clone) if clone and clone.isdigit() else None
    aa_restrict = _read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
    facts["apparmor_restrict_unprivileged_userns"] = (
        int(aa_restrict) if aa_restrict and aa_restrict.isdigit() else None)

    ok, msg = _unshare_in_child(CLONE_NEWUSER)
    facts["unshare"] = ok
    if _is_root():
        # Measure the unprivileged case for real: a child drops to nobody first.
        uok, umsg = _unshare_in_child(CLONE_NEWUSER, drop_to=65534)
        facts["unprivileged_allowed"] = uok
        if not uok:
            facts["unprivileged_error"] = umsg
    else:
        facts["unprivileged_allowed"] = ok
    if not ok:
        facts["error"] = msg
        return Layer(name, False, f"unshare(CLONE_NEWUSER): {msg}", facts)
    detail = "unshare(CLONE_NEWUSER) works; unprivileged " + (
        "allowed" if facts["unprivileged_allowed"] else "not allowed")
    if facts["max_user_namespaces"] is not None:
        detail += f"; max {facts['max_user_namespaces']}"
    return Layer(name, True, detail, facts)


# --------------------------------------------------------------------------
# audit netlink

NETLINK_AUDIT = 9
AUDIT_GET = 1000
AUDIT_NLGRP_READLOG = 1
NLMSG_ERROR = 2
NLM_F_REQUEST = 1


def _audit_get_status(timeout: float = 0.5) -> dict:
    """Send AUDIT_GET on a unicast audit socket; return the parsed status."""
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_AUDIT)
    try:
        s.bind((0, 0))
        s.settimeout(timeout)
        seq = int(time.monotonic_ns() & 0x7FFFFFFF)
        s.sendto(struct.pack("=IHHII", 16, AUDIT_GET, NLM_F_REQUEST, seq, 0), (0, 0))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = s.recv(65536)
            off = 0
            while off + 16 <= len(data):
                ln, typ, _flags, mseq, _pid = struct.unpack_from("=IHHII", data, off)
                payload = data[off + 16: off + max(ln, 16)] if ln else data[off + 16:]
                if typ == NLMSG_ERROR and len(payload) >= 4:
                    (code,) = struct.unpack_from("=i", payload, 0)
                    if code != 0:
                        raise OSError(-code, os.strerror(-code))
                elif typ == AUDIT_GET:
                    names = ["mask", "enabled", "failure", "pid", "rate_limit",
                             "backlog_limit", "lost", "backlog", "feature_bitmap",
                             "backlog_wait_time", "backlog_wait_time_actual"]
                    n = min(len(names), len(payload) // 4)
                    vals = struct.unpack_from(f"={n}I", payload, 0)
                    return dict(zip(names[:n], vals))
                if not ln:
                    break
                off += (ln + 3) & ~3
        raise TimeoutError("no AUDIT_GET reply")
    finally:
        s.close()


def _probe_audit_netlink() -> Layer:
    name = "audit-netlink"
    root = _is_root()
    facts: dict = {"root": root}
    try:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_AUDIT)
    except OSError as exc:
        facts["error"] = repr(exc)
        return Layer(name, False, f"no audit netlink socket ({exc.strerror}): kernel without "
                     "CONFIG_AUDIT, or not in the initial network namespace", facts)
    try:
        s.bind((0, 1 << (AUDIT_NLGRP_READLOG - 1)))
        facts["multicast_readlog"] = True
    except OSError as exc:
        facts["multicast_readlog"] = False
        facts["error"] = repr(exc)
    finally:
        s.close()

    try:
        status = _audit_get_status()
        facts["status"] = status
        facts["enabled"] = status.get("enabled")
        facts["pid"] = status.get("pid")
    except (OSError, TimeoutError) as exc:
        facts["enabled"] = None
        facts["pid"] = None
        facts["status_error"] = repr(exc)

    if not facts["multicast_readlog"]:
        hint = "needs root (CAP_AUDIT_READ)" if not root else "bind refused"
        return Layer(name, False,
                     f"cannot join AUDIT_NLGRP_READLOG: {hint}; {facts['error']}", facts)
    enabled = facts["enabled"]
    en_txt = {0: "audit disabled", 1: "audit enabled", 2: "audit enabled and locked",
              None: "AUDIT_GET failed"}.get(enabled, f"enabled={enabled}")
    pid = facts["pid"]
    daemon = f"audit daemon pid {pid}" if pid else "no audit daemon registered"
    return Layer(name, True, f"multicast READLOG joins; {en_txt}; {daemon}", facts)


# --------------------------------------------------------------------------
# udevd

def _probe_udevd() -> Layer:
    name = "udevd"
    control = os.path.exists("/run/udev/control")
    pids = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        entries = []
    for entry in entries:
        if not entry.isdigit():
            continue
        comm = _read(f"/proc/{entry}/comm")
        if comm in ("systemd-udevd", "udevd"):
            pids.append(int(entry))
    facts = {"control_socket": control, "pids": pids}
    if control and pids:
        return Layer(name, True, f"running (pid {', '.join(map(str, pids))})", facts)
    if control or pids:
        part = "control socket without a process" if control else "process without /run/udev/control"
        return Layer(name, False, f"not usable ({part}): device tags are never applied; "
                     "udev rules are written but not loaded; confine matches devices from /sys itself",
                     facts)
    return Layer(name, False,
                 "not running: device tags are never applied; udev rules are written but not loaded; "
                 "confine matches devices from /sys itself", facts)


# --------------------------------------------------------------------------
# kernel modules

def _probe_kernel_modules() -> Layer:
    from .kmod import module_support

    ok, detail, facts = module_support()
    return Layer("kernel-modules", ok, detail, facts)


# --------------------------------------------------------------------------
# public API

_PROBES: tuple[tuple[str, Callable[[], Layer]], ...] = (
    ("seccomp", _probe_seccomp),
    ("landlock", _probe_landlock),
    ("apparmor-kernel", _probe_apparmor_kernel),
    ("apparmor-parser", _probe_apparmor_parser),
    ("cgroup-v1-devices", _probe_cgroup_v1_devices),
    ("cgroup-v2-device-bpf", _probe_cgroup_v2_device_bpf),
    ("mount-namespace", _probe_mount_ns),
    ("pid-namespace", _probe_pid_ns),
    ("user-namespace", _probe_user_ns),
    ("audit-netlink", _probe_audit_netlink),
    ("udevd", _probe_udevd),
    ("kernel-modules", _probe_kernel_modules),
)


def _safe(name: str, fn: Callable[[], Layer]) -> Layer:
    try:
        layer = fn()
        # Keep facts JSON-able whatever a probe put there.
        return Layer(layer.name, bool(layer.available), str(layer.detail),
                     _jsonable(layer.facts))
    except BaseException as exc:  # noqa: BLE001 - a probe must never raise
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return Layer(name, False, f"probe failed: {exc!r}", {"error": repr(exc)})


def probe() -> list[Layer]:
    """Probe every layer once, in a fixed order; never raises."""
    return [_safe(name, fn) for name, fn in _PROBES]


def probe_layer(name: str) -> Layer:
    """Probe one layer by name; never raises (an unknown name is a KeyError)."""
    for n, fn in _PROBES:
        if n == name:
            return _safe(n, fn)
    raise KeyError(name)


def probe_json() -> list[dict]:
    return [layer.to_dict() for layer in probe()]


def format_report(layers) -> str:
    """Aligned text table: layer, yes/no, detail."""
    rows = [("LAYER", "OK", "DETAIL")]
    for layer in layers:
        if isinstance(layer, dict):
            rows.append((str(layer.get("name", "?")), "yes" if layer.get("available") else "no",
                         str(layer.get("detail", ""))))
        else:
            rows.append((layer.name, "yes" if layer.available else "no", layer.detail))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    return "\n".join(f"{a:<{w0}}  {b:<{w1}}  {c}".rstrip() for a, b, c in rows)


if __name__ == "__main__":  # pragma: no cover - handy for a quick look
    import sys

    if "--json" in sys.argv:
        print(json.dumps(probe_json(), indent=2))
    else:
        print(format_report(probe()))
