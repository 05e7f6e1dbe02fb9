"""The device cgroup of one run of an app: the devices it may open or create.

`setup(step, tag)` takes the launch plan's `device-cgroup` step and builds a
cgroup of its own for this run, allowing the common devices the plan lists and
the devices that the app's device matches select among those pyudev lists from
/sys (no udevd runs here, so nothing relies on udev tags or ID_* properties):

* cgroup v1, where the `devices` controller is mounted and writable:
  `<mount>/confine/<tag>.<run>` with `devices.deny` "a" then one
  `devices.allow` line per device (what snap-confine writes);
* otherwise cgroup v2: `<cgroup2 mount>/confine/<tag>.<run>` with a
  BPF_PROG_TYPE_CGROUP_DEVICE program attached (BPF_F_ALLOW_MULTI, so that the
  programs of the parents still apply: this one can only take away). The program
  is fixed; the allow list lives in a BPF hash map that it looks up, keyed by
  (type, major, minor) with the allowed access as the value and minor or major
  0xffffffff meaning any. `allow()` and `deny()` update the map with one bpf(2)
  call, so hotplug never reloads or swaps a program and there is no window in
  which the cgroup has no program.

The app's process enters the cgroup by itself where it can do so cheaply
(v1: `self_attach_fd()` before the fork, `join(fd)` in the single-threaded
child, which writes 0 to `tasks`); else the launcher calls `attach(pid)`.

`mode="v1"` or `mode="v2"` forces one (tests force v2 even where v1 is mounted:
the kernel runs the v2 program and then the v1 check, so each restricts on its
own). A layer that cannot be used raises DeviceCgroupError naming it; the
launcher reports that.

Only the standard library is imported at module level; pyudev (through
udev.rules) is imported only when the step has device matches. The map and
program descriptors are close-on-exec: an app forked and exec'd by the launcher
never holds them.
"""
from __future__ import annotations

import errno
import os
import time
from _thread import RLock          # threading itself is imported only by the hotplug monitor
# struct and ctypes are imported where bpf(2) is called (cgroup v2 only): not on a v1 launch's path

from ...errors import ConfineError

TYPE_CHECKING = False               # typing costs milliseconds to import: annotations only
if TYPE_CHECKING:  # pragma: no cover - ctypes is imported where bpf(2) is called (v2 only)
    import ctypes
    from typing import Any, Iterable

__all__ = ["DeviceCgroup", "DeviceCgroupError", "setup", "find_mounts", "matched_devices", "remove_stale", "join"]

SUBDIR = "confine"
ACCESS_BITS = {"m": 1, "r": 2, "w": 4}          # BPF_DEVCG_ACC_MKNOD, _READ, _WRITE
TYPE_CODES = {"b": 1, "c": 2}                    # BPF_DEVCG_DEV_BLOCK, _CHAR
ANY = 0xFFFFFFFF


class DeviceCgroupError(ConfineError):
    """The device cgroup cannot be set up or changed; `layer` names what is missing
    (a doctor layer: `cgroup-v1-devices`, `cgroup-v2-device-bpf`, or `root`)."""

    def __init__(self, message: str, layer: str):
        self.layer = layer
        super().__init__(f"device cgroup ({layer}): {message}")


# --- rules ---------------------------------------------------------------------

def _access(access: str) -> int:
    bits = 0
    for ch in access:
        if ch not in ACCESS_BITS:
            raise ValueError(f"device access {access!r}: only the letters r, w, m")
        bits |= ACCESS_BITS[ch]
    return bits


def _access_text(bits: int) -> str:
    return "".join(ch for ch in "rwm" if bits & ACCESS_BITS[ch])


def _number(value: Any, what: str) -> int | str:
    if value == "*" or value is None:
        return "*"
    if isinstance(value, bool):
        raise ValueError(f"device {what} {value!r} is not a number")
    n = int(value)
    if not 0 <= n < ANY:
        raise ValueError(f"device {what} {value!r} is out of range")
    return n


def _keys(dev_type: str, major: Any, minor: Any) -> list[tuple[str, int | str, int | str]]:
    """The (type, major, minor) rules a request stands for ("a" = both b and c)."""
    if dev_type not in ("a", "b", "c"):
        raise ValueError(f"device type {dev_type!r}: one of c, b, a")
    major, minor = _number(major, "major"), _number(minor, "minor")
    if major == "*" and minor != "*":
        raise ValueError("a device rule with any major must have any minor")
    types = ("c", "b") if dev_type == "a" else (dev_type,)
    return [(t, major, minor) for t in types]


def _line(key: tuple, bits: int) -> str:
    t, major, minor = key
    return f"{t} {major}:{minor} {_access_text(bits)}"


# --- mounts ------------------------------------------------------------------------

def _unescape(s: str) -> str:
    return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def find_mounts() -> dict:
    """{"v1": devices controller mount or None, "v1-writable": bool, "v2": cgroup2 mount or None}."""
    out: dict[str, Any] = {"v1": None, "v1-writable": False, "v2": None}
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return out
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        lf, rf = left.split(), right.split()
        if len(lf) < 6 or len(rf) < 3:
            continue
        mount_point, fstype = _unescape(lf[4]), rf[0]
        if fstype == "cgroup" and "devices" in rf[2].split(",") and out["v1"] is None:
            out["v1"] = mount_point
            out["v1-writable"] = "ro" not in lf[5].split(",") and os.access(mount_point, os.W_OK)
        elif fstype == "cgroup2" and out["v2"] is None:
            out["v2"] = mount_point
    return out


def _home_cgroup(pid: int, mode: str, mount: str) -> str | None:
    """The cgroup directory `pid` is in now (for v1: in the devices hierarchy)."""
    try:
        with open(f"/proc/{pid}/cgroup", encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if (mode == "v2" and controllers == "") or (mode == "v1" and "devices" in controllers.split(",")):
            return os.path.join(mount, path.lstrip("/"))
    return None


# --- matched devices --------------------------------------------------------------------

def _describe_match(match: dict) -> str:
    parts = [f"{k}={match[k]}" for k in ("subsystem", "kernel") if k in match]
    parts += [f"attrs.{k}={v}" for k, v in sorted((match.get("attrs") or {}).items())]
    parts += [f"env.{k}={v}" for k, v in sorted((match.get("env") or {}).items())]
    via = ",".join(match.get("interfaces") or [])
    return " ".join(parts) + (f" (interface {via})" if via else "")


def _devnode(device: Any) -> str | None:
    if isinstance(device, dict):
        node = (device.get("properties") or {}).get("DEVNAME")
    else:
        try:
            node = device.properties.get("DEVNAME")
        except (AttributeError, OSError):
            node = None
    if node and not node.startswith("/"):
        node = "/dev/" + node
    return node


def _devpath(device: Any) -> str | None:
    if isinstance(device, dict):
        return device.get("device_path") or (device.get("properties") or {}).get("DEVPATH")
    return getattr(device, "device_path", None)


def matched_devices(matches: list[dict], devices: Iterable[Any] | None = None) -> list[dict]:
    """The devices with a node that any of `matches` selects, as
    [{"devpath", "node", "type", "major", "minor", "match"}], from `devices` or,
    by default, from what pyudev lists from /sys (per subsystem when every match
    names one: a few ms instead of listing every device)."""
    if not matches:
        return []
    from ..udev.rules import device_number, matches as match_one

    if devices is None:
        import pyudev

        context = pyudev.Context()
        subsystems = {m.get("subsystem") for m in matches}
        if None in subsystems:
            devices = context.list_devices()
        else:
            devices = [d for s in sorted(subsystems) for d in context.list_devices(subsystem=s)]
    found = []
    for device in devices:
        try:
            which = next((m for m in matches if match_one(m, device)), None)
            if which is None:
                continue
            number = device_number(device)
        except (OSError, LookupError, ValueError):   # a device that went away while listed
            continue
        if number is None:
            continue
        found.append({"devpath": _devpath(device), "node": _devnode(device), "type": number[0],
                      "major": number[1], "minor": number[2], "match": _describe_match(which)})
    return found


# --- bpf(2) ---------------------------------------------------------------------------

_BPF_NR = {"x86_64": 321, "aarch64": 280, "riscv64": 280, "ppc64le": 361, "ppc64": 361, "s390x": 351,
           "i686": 357, "i386": 357, "armv7l": 386, "loongarch64": 280}
BPF_MAP_CREATE, BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM, BPF_MAP_DELETE_ELEM = 0, 1, 2, 3
BPF_MAP_GET_NEXT_KEY, BPF_PROG_LOAD, BPF_PROG_ATTACH, BPF_PROG_DETACH = 4, 5, 8, 9
BPF_OBJ_GET_INFO_BY_FD = 15
BPF_MAP_TYPE_HASH = 1
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 2
BPF_FUNC_map_lookup_elem = 1
MAP_MAX_ENTRIES = 4096
_ATTR_SIZE = 128     # the fields used here; the kernel accepts a shorter union bpf_attr
_libc: list = []


def _bpf(cmd: int, attr: ctypes.Array) -> int:
    import ctypes
    nr = _BPF_NR.get(os.uname().machine)
    if nr is None:
        raise OSError(errno.ENOSYS, f"bpf(2) number unknown on {os.uname().machine}")
    if not _libc:
        lib = ctypes.CDLL(None, use_errno=True)
        lib.syscall.restype = ctypes.c_long
        _libc.append(lib)
    ctypes.set_errno(0)
    res = _libc[0].syscall(ctypes.c_long(nr), ctypes.c_int(cmd), attr, ctypes.c_uint(ctypes.sizeof(attr)))
    if res < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return res


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    import struct
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def device_program(map_fd: int) -> bytes:
    """The instructions of the device program: allow when the map holds the
    device's (type, major, minor), else (type, major, any), else (type, any, any),
    with every requested access bit; deny otherwise.

    struct bpf_cgroup_dev_ctx { u32 access_type /* access << 16 | type */; u32 major; u32 minor; }
    The key is built on the stack at fp-12: type, major, minor (u32 each).
    """
    ldx_w, stx_w, st_w = 0x61, 0x63, 0x62                 # BPF_LDX|MEM|W, BPF_STX|MEM|W, BPF_ST|MEM|W
    mov64_x, mov32_x, and32_k, rsh32_k, and32_x = 0xBF, 0xBC, 0x54, 0x74, 0x5C
    add64_k, mov64_k, ld_dw_imm, call, exit_ = 0x07, 0xB7, 0x18, 0x85, 0x95
    jeq_k, jeq_x = 0x15, 0x1D
    r0, r1, r2, r6, r7, r8, fp = 0, 1, 2, 6, 7, 8, 10
    pseudo_map_fd = 1

    prog: list = [
        _insn(mov64_x, r6, r1),                    # r6 = ctx
        _insn(ldx_w, r2, r6, 0),                   # r2 = access_type
        _insn(mov32_x, r7, r2), _insn(and32_k, r7, imm=0xFFFF),   # r7 = type
        _insn(mov32_x, r8, r2), _insn(rsh32_k, r8, imm=16),       # r8 = requested access
        _insn(stx_w, fp, r7, -12),                 # key.type
        _insn(ldx_w, r2, r6, 4), _insn(stx_w, fp, r2, -8),        # key.major
        _insn(ldx_w, r2, r6, 8), _insn(stx_w, fp, r2, -4),        # key.minor
    ]

    def lookup(next_label: str) -> list:
        return [
            _insn(ld_dw_imm, r1, pseudo_map_fd, imm=map_fd), _insn(0),
            _insn(mov64_x, r2, fp), _insn(add64_k, r2, imm=-12),
            _insn(call, imm=BPF_FUNC_map_lookup_elem),
            ("jeq_k", r0, 0, next_label),          # no entry: try the wider key
            _insn(ldx_w, r1, r0, 0),                # allowed access bits
            _insn(and32_x, r1, r8),
            ("jeq_x", r1, r8, "allow"),            # every requested bit allowed
        ]

    prog += lookup("any-minor")
    prog += [("label", "any-minor"), _insn(st_w, fp, off=-4, imm=-1)]
    prog += lookup("any-major")
    prog += [("label", "any-major"), _insn(st_w, fp, off=-8, imm=-1)]
    prog += lookup("deny")
    prog += [("label", "deny"), _insn(mov64_k, r0, imm=0), _insn(exit_),
             ("label", "allow"), _insn(mov64_k, r0, imm=1), _insn(exit_)]

    labels, pc = {}, 0
    for item in prog:
        if isinstance(item, tuple) and item[0] == "label":
            labels[item[1]] = pc
        else:
            pc += 1
    out, pc = [], 0
    for item in prog:
        if isinstance(item, tuple):
            if item[0] == "label":
                continue
            kind, dst, operand, target = item
            off = labels[target] - (pc + 1)
            out.append(_insn(jeq_k, dst, off=off, imm=operand) if kind == "jeq_k"
                       else _insn(jeq_x, dst, operand, off=off))
        else:
            out.append(item)
        pc += 1
    return b"".join(out)


def _attr(fmt: str, *values, offset: int = 0) -> ctypes.Array:
    import struct
    import ctypes
    buf = ctypes.create_string_buffer(_ATTR_SIZE)
    struct.pack_into(fmt, buf, offset, *values)
    return buf


def _map_create(name: bytes) -> int:
    import struct
    import ctypes
    attr = _attr("<IIIIII", BPF_MAP_TYPE_HASH, 12, 4, MAP_MAX_ENTRIES, 0, 0)
    struct.pack_into("16s", attr, 28, name[:15])
    return _bpf(BPF_MAP_CREATE, attr)


def _map_key(key: tuple) -> ctypes.Array:
    import struct
    import ctypes
    t, major, minor = key
    return ctypes.create_string_buffer(struct.pack("<III", TYPE_CODES[t], ANY if major == "*" else major,
                                                   ANY if minor == "*" else minor), 12)


def _map_update(map_fd: int, key: tuple, bits: int) -> None:
    import struct
    import ctypes
    k = _map_key(key)
    v = ctypes.create_string_buffer(struct.pack("<I", bits), 4)
    _bpf(BPF_MAP_UPDATE_ELEM, _attr("<IIQQQ", map_fd, 0, ctypes.addressof(k), ctypes.addressof(v), 0))


def _map_delete(map_fd: int, key: tuple) -> None:
    import ctypes
    k = _map_key(key)
    _bpf(BPF_MAP_DELETE_ELEM, _attr("<IIQ", map_fd, 0, ctypes.addressof(k)))


def _map_items(map_fd: int) -> dict[tuple, int]:
    """Every entry of the map as the kernel holds it (walks BPF_MAP_GET_NEXT_KEY)."""
    import struct
    import ctypes
    names = {v: k for k, v in TYPE_CODES.items()}
    out: dict[tuple, int] = {}
    key = ctypes.create_string_buffer(12)
    nxt = ctypes.create_string_buffer(12)
    val = ctypes.create_string_buffer(4)
    first = True
    while True:
        try:
            _bpf(BPF_MAP_GET_NEXT_KEY, _attr("<IIQQ", map_fd, 0, 0 if first else ctypes.addressof(key),
                                             ctypes.addressof(nxt)))
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return out
            raise
        first = False
        ctypes.memmove(key, nxt, 12)
        try:
            _bpf(BPF_MAP_LOOKUP_ELEM, _attr("<IIQQQ", map_fd, 0, ctypes.addressof(key), ctypes.addressof(val), 0))
        except OSError as exc:
            if exc.errno == errno.ENOENT:       # deleted meanwhile
                continue
            raise
        t, major, minor = struct.unpack("<III", key.raw)
        out[(names.get(t, str(t)), "*" if major == ANY else major, "*" if minor == ANY else minor)] = \
            struct.unpack("<I", val.raw)[0]


def _prog_load(insns: bytes) -> int:
    import struct
    import ctypes
    insn_buf = ctypes.create_string_buffer(insns, len(insns))
    license_buf = ctypes.create_string_buffer(b"GPL")

    def load(log_buf=None) -> int:
        attr = _attr("<IIQQIIQII", BPF_PROG_TYPE_CGROUP_DEVICE, len(insns) // 8, ctypes.addressof(insn_buf),
                     ctypes.addressof(license_buf), 1 if log_buf is not None else 0,
                     len(log_buf) if log_buf is not None else 0,
                     ctypes.addressof(log_buf) if log_buf is not None else 0, 0, 0)
        struct.pack_into("16s", attr, 48, b"confine_devices")
        return _bpf(BPF_PROG_LOAD, attr)

    try:
        return load()
    except OSError as exc:
        if exc.errno in (errno.EPERM, errno.ENOSYS):
            raise
        log = ctypes.create_string_buffer(1 << 16)
        try:
            return load(log)
        except OSError as exc2:
            verifier = log.value.decode("utf-8", "replace").strip().splitlines()[-6:]
            raise OSError(exc2.errno, f"{exc2.strerror}; verifier: {' | '.join(verifier)}") from None


def _obj_id(fd: int) -> int | None:
    """The kernel id of a BPF program or map (the second u32 of its info)."""
    import struct
    import ctypes
    info = ctypes.create_string_buffer(64)
    try:
        _bpf(BPF_OBJ_GET_INFO_BY_FD, _attr("<IIQ", fd, 64, ctypes.addressof(info)))
    except OSError:
        return None
    return struct.unpack_from("<I", info.raw, 4)[0]


# --- the cgroup -----------------------------------------------------------------------

class DeviceCgroup:
    """The device cgroup of one run: `mode` ("v1" or "v2"), `path` (its directory)."""

    mode = ""
    _layer = ""

    def __init__(self, tag: str, path: str, mount: str):
        self.tag = tag
        self.path = path
        self.mount = mount
        # (type, major, minor) -> (access bits, why): what this object has put into the kernel
        self.rules: dict[tuple, tuple[int, str]] = {}
        self.common: set[tuple] = set()                       # keys granted by the plan's common list
        self.devices: dict[str, dict] = {}                    # devpath -> matched device (see matched_devices)
        self._homes: dict[int, str] = {}
        self._joined_from_here = False                       # processes joined through self_attach_fd()
        self._lock = RLock()
        self.removed = False

    # subclasses: _create(), _allow(key, bits), _deny(key, bits, left), kernel_rules(), _headline(),
    # and where needed _before_rmdir() and _teardown()

    def _procs_file(self, directory: str) -> str:
        return os.path.join(directory, "cgroup.procs")

    def attach(self, pid: int) -> None:
        """Move process `pid` (0: the caller) with its threads into this cgroup."""
        if self.removed:
            raise DeviceCgroupError(f"{self.path} was removed", self._layer)
        pid = pid or os.getpid()
        home = _home_cgroup(pid, self.mode, self.mount)
        if home and os.path.normpath(home) != os.path.normpath(self.path):
            self._homes[pid] = home
        try:
            with open(self._procs_file(self.path), "w") as fh:
                fh.write(str(pid))
        except OSError as exc:
            raise DeviceCgroupError(f"cannot move pid {pid} into {self.path}: {exc.strerror}", self._layer) from exc

    def self_attach_fd(self) -> int | None:
        """An fd through which a single-threaded process moves itself into this
        cgroup (`join(fd)`), or None where there is no cheap way (v2: the
        supervisor calls attach(pid)).

        Why: writing a pid to cgroup.procs (or 0 for the writer's whole thread
        group) takes the global cgroup_threadgroup_rwsem for writing, which waits
        for an RCU grace period: 5-15 ms on this kind of VM, the largest single
        cost of a launch. A thread moving itself alone (0 written to a v1 `tasks`
        file) skips that lock: 0.05 ms. The launcher's child is single-threaded
        when it joins (fork copies one thread) and execs the app afterwards, so
        the whole app is inside. Open before the fork (close-on-exec, so the
        app never holds it); the processes that join this way came from this
        process's cgroup, where remove() puts back any still inside."""
        if self.removed:
            raise DeviceCgroupError(f"{self.path} was removed", self._layer)
        fd = self._open_self_attach()
        if fd is not None:
            self._joined_from_here = True
        return fd

    def _open_self_attach(self) -> int | None:
        return None

    def pids(self) -> list[int]:
        try:
            with open(self._procs_file(self.path)) as fh:
                return [int(x) for x in fh.read().split()]
        except FileNotFoundError:
            return []

    def allow(self, dev_type: str, major: int | str, minor: int | str, access: str = "rwm", why: str = "") -> None:
        """Allow `access` (letters of rwm) to a device; `major`/`minor` may be "*"; type "a" = b and c.
        Takes effect at once for the processes in the cgroup (at their next open or mknod)."""
        bits = _access(access)
        with self._lock:
            self._check()
            for key in _keys(dev_type, major, minor):
                old = self.rules.get(key, (0, ""))[0]
                try:
                    self._allow(key, bits)
                except OSError as exc:
                    raise DeviceCgroupError(f"cannot allow {_line(key, bits)} in {self.path}: {exc.strerror}",
                                            self._layer) from exc
                self.rules[key] = (old | bits, self.rules.get(key, (0, why))[1] or why)

    def deny(self, dev_type: str, major: int | str, minor: int | str, access: str = "rwm") -> None:
        """Take back `access` to a device allowed before (exactly that rule: denying one
        minor leaves a rule for any minor of its major in place, as v1 does)."""
        bits = _access(access)
        with self._lock:
            self._check()
            for key in _keys(dev_type, major, minor):
                old, why = self.rules.get(key, (0, ""))
                left = old & ~bits
                try:
                    self._deny(key, bits, left)
                except OSError as exc:
                    raise DeviceCgroupError(f"cannot deny {_line(key, bits)} in {self.path}: {exc.strerror}",
                                            self._layer) from exc
                if left:
                    self.rules[key] = (left, why)
                else:
                    self.rules.pop(key, None)

    def allowed(self, dev_type: str, major: int, minor: int, access: str = "rwm") -> bool:
        """Whether this cgroup's rules (as recorded here) give `access` to the device."""
        bits = _access(access)
        for key in ((dev_type, major, minor), (dev_type, major, "*"), (dev_type, "*", "*")):
            if self.rules.get(key, (0, ""))[0] & bits == bits:
                return True
        return False

    def _check(self) -> None:
        if self.removed:
            raise DeviceCgroupError(f"{self.path} was removed", self._layer)

    def remove(self, timeout: float = 2.0) -> None:
        """Move any process still inside back where it came from (else to the
        hierarchy's root), remove the cgroup directory and free the BPF objects.
        Idempotent; raises DeviceCgroupError if the directory is still there after
        `timeout` seconds."""
        with self._lock:
            if self.removed:
                return
            deadline = None
            while True:
                # first try at once: after the launcher reaped the app the cgroup is
                # usually empty already (a reaped task has left its css_set)
                try:
                    self._before_rmdir()
                    os.rmdir(self.path)
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if deadline is None:
                        deadline = time.monotonic() + timeout
                    if exc.errno not in (errno.EBUSY, errno.ENOTEMPTY) or time.monotonic() > deadline:
                        raise DeviceCgroupError(f"cannot remove {self.path}: {exc.strerror} "
                                                f"(pids inside: {self.pids()})", self._layer) from exc
                if not self._evict():
                    time.sleep(0.005)             # exiting tasks not yet gone
            self._teardown()
            self.removed = True
            _IN_USE.discard(self.path)

    def _evict(self) -> bool:
        """Move every process still inside back where it came from; whether any was listed."""
        pids = self.pids()
        fallback = self.mount
        if self._joined_from_here:
            fallback = _home_cgroup(os.getpid(), self.mode, self.mount) or self.mount
        for pid in pids:
            home = self._homes.get(pid) or fallback
            target = home if os.path.normpath(home) != os.path.normpath(self.path) and os.path.isdir(home) \
                else self.mount
            try:
                with open(self._procs_file(target), "w") as fh:
                    fh.write(str(pid))
            except OSError:
                pass                      # gone meanwhile, or exiting
        return bool(pids)

    def _before_rmdir(self) -> None:
        pass

    def _teardown(self) -> None:
        pass

    def _begin_batch(self) -> None:
        pass

    def _end_batch(self) -> None:
        pass

    def rule_lines(self) -> list[str]:
        return [_line(k, bits) for k, (bits, _) in sorted(self.rules.items(), key=lambda kv: str(kv[0]))]

    def explain(self) -> str:
        lines = [self._headline(), "  default: deny every device"]
        for key, (bits, why) in sorted(self.rules.items(), key=lambda kv: (kv[0][0], str(kv[0][1]).zfill(10),
                                                                            str(kv[0][2]).zfill(10))):
            lines.append(f"  allow {_line(key, bits):<18} {why}".rstrip())
        if self.removed:
            lines.append("  (removed)")
        return "\n".join(lines)

    def __enter__(self) -> "DeviceCgroup":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"<DeviceCgroup {self.mode} {self.path} {len(self.rules)} rules{' removed' if self.removed else ''}>"


class V1DeviceCgroup(DeviceCgroup):
    mode = "v1"
    _layer = "cgroup-v1-devices"

    _batch: dict[str, int] | None = None

    def _create(self) -> None:
        os.mkdir(self.path, 0o755)
        self._write("devices.deny", "a")

    def _begin_batch(self) -> None:
        """Until _end_batch(): keep each rule file open and write rule after rule into it
        (one write(2) per rule, as the kernel parses one rule a write)."""
        self._batch = {}

    def _end_batch(self) -> None:
        fds, self._batch = self._batch or {}, None
        for fd in fds.values():
            os.close(fd)

    def _write(self, name: str, text: str) -> None:
        fd = self._batch.get(name) if self._batch is not None else None
        if fd is None:
            fd = os.open(os.path.join(self.path, name), os.O_WRONLY | os.O_CLOEXEC)
            if self._batch is None:
                try:
                    os.write(fd, text.encode())
                finally:
                    os.close(fd)
                return
            self._batch[name] = fd
        os.write(fd, text.encode())

    def _open_self_attach(self) -> int | None:
        return os.open(os.path.join(self.path, "tasks"), os.O_WRONLY | os.O_CLOEXEC)

    def _allow(self, key: tuple, bits: int) -> None:
        self._write("devices.allow", _line(key, bits))

    def _deny(self, key: tuple, bits: int, left: int) -> None:
        self._write("devices.deny", _line(key, bits))

    def kernel_rules(self) -> set[str]:
        """The allow list as the kernel holds it (devices.list)."""
        with open(os.path.join(self.path, "devices.list")) as fh:
            return {line.strip() for line in fh if line.strip()}

    def _headline(self) -> str:
        return f"cgroup v1 devices controller: {self.path} (devices.deny a, then devices.allow per device)"


class V2DeviceCgroup(DeviceCgroup):
    mode = "v2"
    _layer = "cgroup-v2-device-bpf"
    map_fd = prog_fd = -1
    attached = False

    def _create(self) -> None:
        self.map_fd = _map_create(b"confine_devices")
        self.prog_fd = _prog_load(device_program(self.map_fd))
        os.mkdir(self.path, 0o755)
        fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            _bpf(BPF_PROG_ATTACH, _attr("<IIIII", fd, self.prog_fd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI, 0))
        finally:
            os.close(fd)
        self.attached = True

    def _allow(self, key: tuple, bits: int) -> None:
        _map_update(self.map_fd, key, self.rules.get(key, (0, ""))[0] | bits)

    def _deny(self, key: tuple, bits: int, left: int) -> None:
        if left:
            _map_update(self.map_fd, key, left)
        else:
            try:
                _map_delete(self.map_fd, key)
            except FileNotFoundError:
                pass

    def kernel_rules(self) -> set[str]:
        """The allow list as the kernel holds it (the BPF map's entries)."""
        return {_line(k, bits) for k, bits in _map_items(self.map_fd).items()}

    def _before_rmdir(self) -> None:
        if self.attached:
            try:
                fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except FileNotFoundError:
                self.attached = False
                return
            try:
                _bpf(BPF_PROG_DETACH, _attr("<IIIII", fd, self.prog_fd, BPF_CGROUP_DEVICE, 0, 0))
            except OSError:
                pass                        # rmdir releases it anyway
            finally:
                os.close(fd)
            self.attached = False

    def _teardown(self) -> None:
        for name in ("prog_fd", "map_fd"):
            fd = getattr(self, name)
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(self, name, -1)

    def _headline(self) -> str:
        ids = ""
        if self.prog_fd >= 0:
            ids = f" (program id {_obj_id(self.prog_fd)}, map id {_obj_id(self.map_fd)})"
        return (f"cgroup v2 BPF device program{ids} attached to {self.path}; "
                "the allow list is a BPF hash map that hotplug updates in place")


def join(fd: int) -> None:
    """In a single-threaded process: move the calling thread, hence the process, into
    the cgroup whose self_attach_fd() `fd` is, then close `fd`. Raises OSError."""
    try:
        os.write(fd, b"0")
    finally:
        os.close(fd)


# --- setup ---------------------------------------------------------------------------

def _safe_name(tag: str) -> str:
    if not tag or tag.startswith(".") or "/" in tag or "\0" in tag or len(tag) > 200:
        raise ValueError(f"security tag {tag!r} cannot name a cgroup")
    return tag


_IN_USE: set[str] = set()       # run directories of this process's DeviceCgroup objects


def _run_dir(parent: str, tag: str, run_id: int) -> str:
    """`<parent>/<tag>.<run_id>`, with `-N` added when that one is in use. A
    left-over directory of a dead run with the same id (no process inside, not
    this process's) is removed first."""
    base = os.path.join(parent, f"{tag}.{run_id}")
    path, n = base, 0
    while path in _IN_USE or os.path.exists(path):
        if path not in _IN_USE:
            try:
                os.rmdir(path)          # empty of processes: a stale run's
                break
            except OSError:
                pass
        n += 1
        path = f"{base}-{n}"
    _IN_USE.add(path)
    return path


def setup(step: dict, tag: str | None = None, *, mode: str | None = None, devices: Iterable[Any] | None = None,
          run_id: int | None = None, mounts: dict | None = None) -> DeviceCgroup | None:
    """The device cgroup of one run, built from the plan's `device-cgroup` step.

    None when the step says `skip`. `mode`: None (v1 where mounted, else v2),
    "v1" or "v2". `devices`: the devices to match (default: pyudev's listing of
    /sys). `run_id` names the run (default: this process's pid). `mounts`: what
    find_mounts() returned, if the caller has it already. Nothing is attached
    yet: the launcher calls `attach(pid)` for the app's process, or has it join
    through `self_attach_fd()`.
    """
    if step.get("skip"):
        return None
    tag = _safe_name(tag or step.get("name") or "")
    if mode not in (None, "auto", "v1", "v2"):
        raise ValueError(f"device cgroup mode {mode!r}: v1, v2 or None")
    mounts = mounts or find_mounts()
    if mode in (None, "auto"):
        if mounts["v1"] and mounts["v1-writable"]:
            mode = "v1"
        elif mounts["v2"]:
            mode = "v2"
        else:
            why = (f"cgroup v1 devices controller at {mounts['v1']} is not writable" if mounts["v1"]
                   else "no cgroup v1 devices controller is mounted")
            raise DeviceCgroupError(f"{why} (cgroup-v1-devices) and no cgroup2 is mounted "
                                    "(cgroup-v2-device-bpf)", "cgroup-v1-devices")
    if os.geteuid() != 0:
        raise DeviceCgroupError(f"setting up a device cgroup needs root (running as uid {os.geteuid()})", "root")
    if mode == "v1":
        if not mounts["v1"]:
            raise DeviceCgroupError("no cgroup v1 mount with the devices controller", "cgroup-v1-devices")
        if not mounts["v1-writable"]:
            raise DeviceCgroupError(f"{mounts['v1']} is not writable here", "cgroup-v1-devices")
        cls, mount = V1DeviceCgroup, mounts["v1"]
    else:
        if not mounts["v2"]:
            raise DeviceCgroupError("no cgroup2 mount", "cgroup-v2-device-bpf")
        cls, mount = V2DeviceCgroup, mounts["v2"]

    access = step.get("access", "rwm")
    grants: list[tuple[str, Any, Any, str, str, bool]] = []      # type, major, minor, access, why, common
    for d in step.get("common") or []:
        grants.append((d["type"], d["major"], d["minor"], d.get("access", "rwm"),
                       f"{d.get('node', '')} (common)", True))
    found = matched_devices(step.get("matches") or [], devices)
    for d in found:
        grants.append((d["type"], d["major"], d["minor"], access,
                       f"{d['node'] or d['devpath']} (matched by {d['match']})", False))

    parent = os.path.join(mount, SUBDIR)
    try:
        try:
            os.mkdir(parent, 0o755)
        except FileExistsError:
            pass
        except OSError:
            os.makedirs(parent, 0o755, exist_ok=True)
    except OSError as exc:
        raise DeviceCgroupError(f"cannot create {parent}: {exc.strerror}", cls._layer) from exc
    cg = cls(tag, _run_dir(parent, tag, run_id if run_id is not None else os.getpid()), mount)
    try:
        cg._begin_batch()
        try:
            cg._create()
            for t, major, minor, acc, why, common in grants:
                cg.allow(t, major, minor, acc, why)
                if common:
                    cg.common.update(_keys(t, major, minor))
        finally:
            cg._end_batch()
        for d in found:
            if d["devpath"]:
                cg.devices[d["devpath"]] = d
    except BaseException as exc:
        try:
            cg.remove()
        except DeviceCgroupError:
            pass
        cg._teardown()
        if isinstance(exc, OSError):
            what = "BPF device program" if cls is V2DeviceCgroup else "cgroup"
            raise DeviceCgroupError(f"cannot set up the {what} at {cg.path}: {exc.strerror or exc}",
                                    cls._layer) from exc
        raise
    return cg


def remove_stale(mount: str | None = None) -> list[str]:
    """Remove the per-run cgroups of runs that are gone: no process inside and the
    run's pid (the name's suffix) not alive. Returns the directories removed."""
    mounts = find_mounts()
    removed = []
    for m in [mount] if mount else [mounts["v1"], mounts["v2"]]:
        parent = os.path.join(m, SUBDIR) if m else None
        if not parent or not os.path.isdir(parent):
            continue
        for name in os.listdir(parent):
            path = os.path.join(parent, name)
            run = name.rsplit(".", 1)[-1].split("-")[0]
            if not os.path.isdir(path) or not run.isdigit():
                continue
            if os.path.exists(f"/proc/{run}"):
                continue
            try:
                os.rmdir(path)
                removed.append(path)
            except OSError:
                pass
    return removed
