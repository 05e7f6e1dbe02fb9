"""Compile a seccomp Policy into classic BPF with libseccomp (the library pyseccomp wraps).

Two filters come out of one policy:

- the allow filter: default action ERRNO(EPERM) (LOG under @complain), one ALLOW
  rule per source line. It is byte-identical to what snap-seccomp 2.57.6 writes for
  the same text without its `~` lines: same libseccomp, same architectures (the
  native one plus its compat arch, i386 on x86-64), same order of rules, each added
  "exactly" first and, when libseccomp refuses that (a name that exists only on the
  compat arch, such as chown32), added again letting libseccomp translate it;
- the deny filter: default ALLOW, one ERRNO(EACCES) rule per `~` line (or the line's
  own errno=); the launcher
  loads it before the allow filter. The kernel runs every filter and keeps the
  most restrictive answer, so an explicit denial wins over any allow rule.

Calls of other ABIs (x32 on x86-64) hit libseccomp's bad-architecture action:
the thread is killed, as under snap-seccomp. Unknown syscall names are skipped and
reported. `@unrestricted` means no filter: the allow output is then the marker
text snap-seccomp writes (UNRESTRICTED), which the launcher recognises.

libseccomp exports only to a file descriptor: export goes through a memfd.
"""
from __future__ import annotations

import errno
import os
import threading
from operator import attrgetter, itemgetter
from pathlib import Path

from ..durable import fsync_dir
from .grammar import Policy, Record, Rule, SeccompSyntaxError, parse

UNRESTRICTED = b"@unrestricted\n"   # the whole allow output of an unrestricted policy

ACT_ALLOW = 0x7FFF0000
ACT_LOG = 0x7FFC0000
ACT_KILL_THREAD = 0x00000000


def act_errno(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


_seccomp = None
_seccomp_lock = threading.Lock()
_resolved: dict[str, int] = {}


def _lib() -> "pyseccomp":  # noqa: F821
    """pyseccomp, imported once, for its Python API (architecture tokens, argument
    objects, filters with methods): compiling does not need it (see _Native). Its
    import looks libraries up with ldconfig (about 40 ms); the usual sonames are
    tried first, which is all that lookup would find."""
    global _seccomp
    if _seccomp is not None:
        return _seccomp
    with _seccomp_lock:
        if _seccomp is not None:
            return _seccomp
        import ctypes
        import ctypes.util

        real = ctypes.util.find_library
        sonames = {"c": "libc.so.6", "seccomp": _LIBSECCOMP}

        def quick(name: str):
            soname = sonames.get(name)
            if soname:
                try:
                    ctypes.CDLL(soname)
                    return soname
                except OSError:
                    pass
            return real(name)

        ctypes.util.find_library = quick
        try:
            import pyseccomp
        finally:
            ctypes.util.find_library = real
        _seccomp = pyseccomp
        return _seccomp


_COMPAT = {  # native architecture -> the compat one snap-seccomp adds
    0xC000003E: 0x40000003,   # x86_64 -> x86 (i386)
    0xC00000B7: 0x40000028,   # aarch64 -> arm
    0x80000015: 0x00000014,   # ppc64 (big endian) -> ppc
}

_LIBSECCOMP = "libseccomp.so.2"
_CTL_OPTIMIZE = 8   # SCMP_FLTATR_CTL_OPTIMIZE: 2 is the binary-tree layout


class _Native:
    """The calls into libseccomp that compiling makes, bound with ctypes on the very
    library pyseccomp uses, without importing pyseccomp (its import, with typing and
    ctypes.util, costs a short-lived compiling process more than the calls need).

    The two calls that take long (export, release) let other threads run Python
    meanwhile. The rule calls, a few microseconds each and hundreds per filter, keep
    Python's lock (PyDLL): giving it up and taking it back around each of them, while
    other threads want it too, costs more than the calls themselves."""

    def __init__(self):
        import ctypes

        try:
            lib = ctypes.CDLL(_LIBSECCOMP)
            path = _LIBSECCOMP
        except OSError:
            path = _lib()._libseccomp._name   # wherever pyseccomp found it
            lib = ctypes.CDLL(path)
        held = ctypes.PyDLL(path)

        class ArgCmp(ctypes.Structure):   # struct scmp_arg_cmp
            _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                        ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]

        def bind(dll, name, restype, *argtypes):
            fn = getattr(dll, name)
            fn.restype = restype
            if argtypes:
                fn.argtypes = argtypes
            return fn

        ptr, u32, i32 = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int
        self.ArgCmp = ArgCmp
        self.init = bind(lib, "seccomp_init", ptr, u32)
        self.release = bind(lib, "seccomp_release", None, ptr)
        self.arch_add = bind(lib, "seccomp_arch_add", i32, ptr, u32)
        self.attr_set = bind(lib, "seccomp_attr_set", i32, ptr, i32, u32)
        self.export_bpf = bind(lib, "seccomp_export_bpf", i32, ptr, i32)
        self.export_pfc = bind(lib, "seccomp_export_pfc", i32, ptr, i32)
        self.resolve_name = bind(lib, "seccomp_syscall_resolve_name_arch", i32, u32, ctypes.c_char_p)
        self.resolve_num = bind(lib, "seccomp_syscall_resolve_num_arch", ptr, u32, i32)   # malloc'd name
        self.free = bind(ctypes.CDLL(None), "free", None, ptr)
        self.string_at = ctypes.string_at
        # The rule calls take (context, action, syscall, count, conditions): the context
        # as a c_void_p, then ints and a ctypes array or None. Without argtypes ctypes
        # converts them itself, at half the cost per call.
        self.add = bind(held, "seccomp_rule_add_array", i32)
        self.add_exact = bind(held, "seccomp_rule_add_exact_array", i32)
        self.pointer = ptr
        self.arch = bind(lib, "seccomp_arch_native", u32)()
        self.compat = _COMPAT.get(self.arch)


_native_lib: _Native | None = None
_native_lock = threading.Lock()


def _native() -> _Native:
    global _native_lib
    if _native_lib is None:
        with _native_lock:
            if _native_lib is None:
                _native_lib = _Native()
    return _native_lib


def _check(rc: int) -> None:
    if rc < 0:
        raise OSError(-rc, os.strerror(-rc))


def resolve(name: str) -> int:
    """libseccomp's number for a syscall name on the native arch; negative if unknown
    there (a pseudo-number for names of the compat arch, -1 for unknown names)."""
    nr = _resolved.get(name)
    if nr is None:
        nr = _resolved[name] = _native().resolve_name(0, name.encode())
    return nr


def known(name: str) -> bool:
    return resolve(name) != -1


class CompileResult(Record):
    """The filters of one policy.

    allow: the raw BPF of the allow filter, or UNRESTRICTED for a policy with no filter;
    deny: the raw BPF of the explicit denials, or None when there are none;
    skipped: unknown syscall names, in order of first appearance.
    """

    _fields = __match_args__ = ("allow", "deny", "skipped", "unrestricted", "complain", "tree")
    _key = attrgetter(*_fields)

    def __init__(self, allow: bytes, deny: bytes | None, skipped: tuple[str, ...], unrestricted: bool = False,
                 complain: bool = False, tree: bool = False):
        self.__dict__.update(allow=allow, deny=deny, skipped=skipped, unrestricted=unrestricted, complain=complain,
                             tree=tree)

    @property
    def allow_filter(self) -> bytes | None:
        return None if self.unrestricted else self.allow

    def to_json(self) -> dict:
        return {"unrestricted": self.unrestricted, "complain": self.complain, "tree": self.tree,
                "allow-instructions": 0 if self.unrestricted else len(self.allow) // 8,
                "deny-instructions": len(self.deny) // 8 if self.deny else 0,
                "skipped": list(self.skipped)}


class _Fd:
    def __init__(self, fd: int):
        self._fd = fd

    def fileno(self) -> int:
        return self._fd


def _through_memfd(write) -> bytes:
    """What write(fd) writes, read back from a memfd."""
    fd = os.memfd_create("confine-seccomp", os.MFD_CLOEXEC)
    try:
        write(fd)
        size = os.fstat(fd).st_size
        return os.pread(fd, size, 0) if size else b""
    finally:
        os.close(fd)


def _export(flt, method: str) -> bytes:
    """The export of a pyseccomp filter (see _new_filter)."""
    return _through_memfd(lambda fd: getattr(flt, method)(_Fd(fd)))


def _new_filter(default: int, tree: bool):
    """A pyseccomp filter with the architectures and layout the compiler uses, for
    callers that build filters through pyseccomp's API."""
    lib = _lib()
    flt = lib.SyscallFilter(default)
    compat = _COMPAT.get(lib.system_arch())
    if compat is not None:
        flt.add_arch(compat)
    if tree:
        flt.set_attr(lib.Attr.CTL_OPTIMIZE, 2)
    return flt


def _new_ctx(default: int, tree: bool) -> int:
    """A libseccomp filter context with the architectures snap-seccomp gives it (the
    native one and its compat arch) and the layout asked for; the caller releases it."""
    lib = _native()
    ctx = lib.init(default)
    if not ctx:
        raise OSError(errno.EINVAL, "libseccomp cannot create a filter")
    try:
        if lib.compat is not None:
            _check(lib.arch_add(ctx, lib.compat))
        if tree:
            _check(lib.attr_set(ctx, _CTL_OPTIMIZE, 2))
    except BaseException:
        lib.release(ctx)
        raise
    return ctx


def _finish(ctx: int, kind: str = "bpf") -> bytes:
    """Export the filter context (raw BPF, or pseudo-code with kind="pfc") and release it."""
    lib = _native()
    try:
        export = lib.export_bpf if kind == "bpf" else lib.export_pfc
        return _through_memfd(lambda fd: _check(export(ctx, fd)))
    finally:
        lib.release(ctx)


_OP_CODES = {"NE": 1, "LT": 2, "LE": 3, "EQ": 4, "GE": 5, "GT": 6, "MASKED_EQ": 7}
_arrays: dict[tuple, tuple[int, object]] = {}


def _arg_array(args: tuple) -> tuple[int, object]:
    """The conditions of a rule as libseccomp's scmp_arg_cmp array (cached: the same
    conditions recur across profiles)."""
    found = _arrays.get(args)
    if found is None:
        arr = (_native().ArgCmp * len(args))()
        for i, c in enumerate(args):
            arr[i].arg = c.index
            arr[i].op = _OP_CODES[c.op]
            if c.op == "MASKED_EQ":
                arr[i].datum_a, arr[i].datum_b = c.mask, c.value
            else:
                arr[i].datum_a = c.value
        found = _arrays[args] = (len(args), arr)
    return found


_Step = tuple  # (syscall number, condition count, scmp_arg_cmp array or None, Rule, placement group)
_named: dict[str, tuple[int, int]] = {}   # syscall name -> (native number, placement group)


def _plan(rules: tuple[Rule, ...], skipped: dict[str, None]) -> list[_Step]:
    """The libseccomp calls for `rules`, prepared in Python (names resolved, argument
    arrays built), so that building the filter is a tight loop of C calls."""
    steps = []
    named = _named
    for rule in rules:
        name = rule.syscall
        found = named.get(name)
        if found is None:
            nr = resolve(name)
            found = named[name] = (nr, _place(nr, name) if nr != -1 else 0)
        nr, group = found
        if nr == -1:
            skipped.setdefault(name, None)
            continue
        args = rule.args
        if args:
            n, arr = _arg_array(args)
            steps.append((nr, n, arr, rule, group))
        else:
            steps.append((nr, 0, None, rule, group))
    return steps


# snap-seccomp adds each rule "exactly" first and, when libseccomp refuses, again
# letting libseccomp translate it. A refusal that comes from the rule and the
# architectures (a name of the compat arch only, a number that differs between the
# arches), never from the rules already in the filter, is remembered here as
# (architectures, action, syscall, conditions) and not attempted again: the filters
# are the same bytes (the tests compare them).
_inexact: set[tuple] = set()
# Native architectures on whose filters (with their compat arch) libseccomp refuses
# every exact rule: it answers EOPNOTSUPP to an exact rule on a filter of several
# architectures before looking at the rule or the filter's rules. Rules then go
# straight to the translating call, as snap-seccomp's second attempt does.
_never_exact: set[int] = set()


# ---- the order of the rule calls ------------------------------------------------
#
# libseccomp keeps each architecture's syscalls in a list sorted by number and walks
# it from the smallest to place every rule (in the filter and again in the copy it
# keeps to undo a failed call). Rules given from the largest number down are placed
# at once on the native architecture: about a sixth less work per filter.
#
# The filter is the same bytes: what libseccomp generates depends on each syscall's
# entry, and an entry depends only on the rules that reach it, in their order. Rules
# may change places as long as two rules that reach a same syscall, on any of the
# filter's architectures, keep their order. A rule reaches its number on the native
# arch; on the compat arch the number libseccomp translates it to and, for the socket
# and IPC calls, their multiplexer (socketcall, ipc) too. So rules keep their order
# within a group: the rules of one native number; all the multiplexed calls (on every
# architecture: some native ones multiplex too); the numbers found to share a compat
# number. Groups are ordered by number, from the largest down.

_MULTIPLEXED = frozenset({
    "socket", "bind", "connect", "listen", "accept", "getsockname", "getpeername", "socketpair", "send",
    "recv", "sendto", "recvfrom", "shutdown", "setsockopt", "getsockopt", "sendmsg", "recvmsg", "accept4",
    "recvmmsg", "sendmmsg", "socketcall",
    "semop", "semget", "semctl", "semtimedop", "msgsnd", "msgrcv", "msgget", "msgctl", "shmat", "shmdt",
    "shmget", "shmctl", "ipc",
})
_MULTIPLEXED_GROUP = 1 << 40     # above every syscall number
_group: dict[int, int] = {}      # native number -> its group (the number itself unless shared)
_compat_owner: dict[int, int] = {}   # compat number -> the group whose rules reach it
_group_lock = threading.Lock()
_group_of_step = itemgetter(4)


def _canonical(nr: int) -> str | None:
    """The name libseccomp gives the native number `nr` (what it translates)."""
    lib = _native()
    raw = lib.resolve_num(lib.arch, nr)
    if not raw:
        return None
    try:
        return lib.string_at(raw).decode()
    finally:
        lib.free(raw)


def _place(nr: int, name: str) -> int:
    """The group of native number `nr` (first met as `name`), chosen once."""
    lib = _native()
    with _group_lock:
        group = _group.get(nr)
        if group is not None:
            return group
        canonical = _canonical(nr) or name
        if name in _MULTIPLEXED or canonical in _MULTIPLEXED:
            group = _MULTIPLEXED_GROUP
        elif lib.compat is None:
            group = nr
        else:
            target = lib.resolve_name(lib.compat, canonical.encode())
            if target in (lib.resolve_name(lib.compat, b"socketcall"), lib.resolve_name(lib.compat, b"ipc")):
                group = _MULTIPLEXED_GROUP
            elif target < 0:
                group = nr            # nothing on the compat arch
            else:
                group = _compat_owner.setdefault(target, nr)
        _group[nr] = group
        return group


def _placement_order(steps: list[_Step]) -> list[_Step]:
    """`steps` in the order libseccomp places fastest that builds the same filter."""
    return sorted(steps, key=_group_of_step, reverse=True)   # stable: a group keeps its order


def _refused(file: str, rule: Rule, rc: int) -> SeccompSyntaxError:
    return SeccompSyntaxError(file, rule.line, rule.syscall, f"libseccomp refused the rule: {os.strerror(-rc)}")


class _Refusal(Exception):
    """libseccomp refused a rule given out of the written order."""


def _add_rules(ctx: int, common: int, steps: list[_Step], file: str, answer=None, reorder: bool = True) -> None:
    lib = _native()
    add, arches = lib.add, lib.arch
    ctx = lib.pointer(ctx)
    if answer is None and arches in _never_exact:
        ordered = _placement_order(steps) if reorder else steps
        for nr, n, arr, rule, _ in ordered:   # the usual case: a tight loop of C calls
            rc = add(ctx, common, nr, n, arr)
            if rc:
                raise _Refusal() if reorder else _refused(file, rule, rc)
        return
    exact = lib.add_exact
    for nr, n, arr, rule, _ in steps:
        action = common if answer is None else (answer(rule) or common)
        if arches not in _never_exact:
            key = (arches, action, nr, rule.args)
            # Exactly as written first; when libseccomp refuses, let it translate the rule.
            if key not in _inexact:
                rc = exact(ctx, action, nr, n, arr)
                if rc == 0:
                    continue
                if rc == -errno.EOPNOTSUPP:
                    _never_exact.add(arches)
                else:
                    _inexact.add(key)
        rc = add(ctx, action, nr, n, arr)
        if rc:
            raise _refused(file, rule, rc)


def _build(default: int, action: int, steps: list[_Step], tree: bool, file: str, answer=None) -> int:
    """A filter context of `steps` answering `action` (or, per rule, what `answer`
    says); the caller exports and releases it (_finish)."""
    ctx = _new_ctx(default, tree)
    try:
        _add_rules(ctx, action, steps, file, answer)
    except _Refusal:
        # Build again in the written order: the refusal names the rule met first so.
        _native().release(ctx)
        ctx = _new_ctx(default, tree)
        try:
            _add_rules(ctx, action, steps, file, answer, reorder=False)
        except BaseException:
            _native().release(ctx)
            raise
    except BaseException:
        _native().release(ctx)
        raise
    return ctx


def _allow_default(policy: Policy) -> int:
    return ACT_LOG if policy.complain else act_errno(errno.EPERM)


def _build_allow(policy: Policy, tree: bool, skipped: dict[str, None]) -> int:
    return _build(_allow_default(policy), ACT_ALLOW, _plan(policy.rules, skipped), tree, policy.file)


def _build_deny(policy: Policy, tree: bool, skipped: dict[str, None]) -> int:
    return _build(ACT_ALLOW, act_errno(errno.EACCES), _plan(policy.denials, skipped), tree, policy.file,
                  answer=lambda rule: act_errno(rule.errno) if rule.errno is not None else None)


_deny_cache: dict[tuple, tuple[bytes, tuple[str, ...]]] = {}
_DENY_CACHE_MAX = 64
_deny_lock = threading.Lock()


def _deny_bytes(policy: Policy, tree: bool) -> tuple[bytes, tuple[str, ...]]:
    """The deny filter of `policy` and the names it skipped. Most profiles share the
    template's denials, so the result is kept per distinct set of denial rules (and
    made once when several threads want it at the same time)."""
    key = (tree, tuple((r.syscall, r.args, r.errno) for r in policy.denials))
    found = _deny_cache.get(key)
    if found is None:
        with _deny_lock:
            found = _deny_cache.get(key)
            if found is None:
                skipped: dict[str, None] = {}
                found = (_finish(_build_deny(policy, tree, skipped)), tuple(skipped))
                if len(_deny_cache) >= _DENY_CACHE_MAX:
                    _deny_cache.pop(next(iter(_deny_cache)))
                _deny_cache[key] = found
    return found


_adding = threading.Lock()


class _Job:
    """One policy's compilation: rules prepared in Python, the filter built (hundreds
    of short libseccomp calls), exported (one long call, which threads can make side
    by side)."""

    def __init__(self, policy: Policy, tree: bool):
        self.policy, self.tree = policy, tree
        self.skipped: dict[str, None] = {}
        self.deny: bytes | None = None
        self.allow: bytes | None = None

    def run(self) -> "_Job":
        p = self.policy
        if not p.unrestricted:
            steps = _plan(p.rules, self.skipped)
            if p.denials:
                self.deny, deny_skipped = _deny_bytes(p, self.tree)
                for name in deny_skipped:
                    self.skipped.setdefault(name, None)
            # One thread adds rules while the others export.
            with _adding:
                ctx = _build(_allow_default(p), ACT_ALLOW, steps, self.tree, p.file)
            self.allow = _finish(ctx)
        return self

    def result(self) -> CompileResult:
        p = self.policy
        if p.unrestricted:
            return CompileResult(UNRESTRICTED, None, (), True, p.complain, self.tree)
        return CompileResult(self.allow, self.deny, tuple(self.skipped), False, p.complain, self.tree)


def compile_policy(policy: Policy, *, tree: bool = False) -> CompileResult:
    """Both filters of `policy`. tree=True: libseccomp's binary-tree layout (what the
    launcher loads); tree=False: the linear layout snap-seccomp writes."""
    return _Job(policy, tree).run().result()


def _workers(count: int, workers: int | None) -> int:
    return max(1, min(count, workers or os.cpu_count() or 1))


def _in_threads(produce, count: int, fn, workers: int | None) -> tuple[list, BaseException | None]:
    """fn(item) for the `count` items that the iterable `produce` yields, on up to
    `workers` threads (default: one per core), this one among them: it takes the items
    from `produce` and hands each out as soon as it has it (in order), then works like
    the others.

    Returns the results (in order; None where fn failed or did not run) and the
    exception to report: one raised by `produce` (it goes on to its end, or to its
    first exception, whatever fails in the workers), else the first one of fn in the
    order of the items. After a failure no further item starts, and every started call
    ends before this returns."""
    items: list = []
    results: list = []
    errors: dict[int, BaseException] = {}
    state = {"taken": 0, "produced": False}
    ready = threading.Condition(threading.Lock())

    def worker() -> None:
        while True:
            with ready:
                while state["taken"] == len(items) and not state["produced"] and not errors:
                    ready.wait()
                if errors or state["taken"] == len(items):
                    return
                i = state["taken"]
                state["taken"] = i + 1
            try:
                results[i] = fn(items[i])
            except BaseException as exc:  # reported in order by the caller
                with ready:
                    errors[i] = exc
                    ready.notify_all()
                return

    threads = [threading.Thread(target=worker, name="seccomp-compile", daemon=True)
               for _ in range(_workers(count, workers) - 1)]
    for t in threads:
        t.start()
    failure = None
    try:
        try:
            for item in produce:
                with ready:
                    results.append(None)
                    items.append(item)
                    ready.notify()
        except BaseException as exc:  # noqa: BLE001 - reported by the caller, before any worker's
            failure = exc
            with ready:
                errors.setdefault(len(items), exc)
        with ready:
            state["produced"] = True
            ready.notify_all()
        if failure is None:
            worker()
    finally:
        with ready:
            state["produced"] = True
            ready.notify_all()
        for t in threads:
            t.join()
    return results, (failure or (errors[min(errors)] if errors else None))


def compile_many(policies: list[Policy], *, tree: bool = False, workers: int | None = None) -> list[CompileResult]:
    """Compile a batch of policies, in order, on a few threads of this process.

    Filters are built and exported on `workers` threads (default: one per core, this
    one included): libseccomp exports without Python's lock, each thread on a filter
    of its own, so the cores share the work. Same bytes as one by one.
    """
    results, error = _in_threads((_Job(p, tree) for p in policies), len(policies), lambda job: job.run().result(),
                                 workers)
    if error is not None:
        raise error
    return results


def compile_allow(policy: Policy, *, tree: bool = False) -> bytes | None:
    """The allow filter as raw BPF; None for an @unrestricted policy (no filter)."""
    if policy.unrestricted:
        return None
    return _finish(_build_allow(policy, tree, {}))


def compile_deny(policy: Policy, *, tree: bool = False) -> bytes | None:
    """The explicit denials as raw BPF (ERRNO(EACCES), default ALLOW); None if there are none."""
    if policy.unrestricted or not policy.denials:
        return None
    return _deny_bytes(policy, tree)[0]


def compile_source(text: str, file: str = "<seccomp>", *, tree: bool = False) -> CompileResult:
    return compile_policy(parse(text, file), tree=tree)


def export_pfc(policy: Policy, *, tree: bool = False) -> str:
    """libseccomp's pseudo-code of the filters: the deny filter (loaded first) when
    there are explicit denials, then the allow filter."""
    if policy.unrestricted:
        return "# @unrestricted: no seccomp filter is loaded\n"
    skipped: dict[str, None] = {}
    out = []
    if policy.denials:
        out.append("# explicit denials (loaded first; ERRNO(13) is EACCES, ERRNO(38) ENOSYS, ERRNO(1) EPERM)\n")
        out.append(_finish(_build_deny(policy, tree, skipped), "pfc").decode())
        out.append("# allow filter\n")
    out.append(_finish(_build_allow(policy, tree, skipped), "pfc").decode())
    if skipped:
        out.append("# skipped (unknown to libseccomp): " + " ".join(skipped) + "\n")
    return "".join(out)


def _read_source(src: Path) -> str:
    try:
        return src.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SeccompSyntaxError(str(src), None, "", f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise SeccompSyntaxError(str(src), None, "", f"cannot read: {exc.strerror or exc}") from None


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


# Files are made one at a time: threads making them at once in a directory spin in the
# kernel for its lock (and ext4's search for a free inode) instead of waiting asleep.
_creating = threading.Lock()


def _write_tmp(path: Path, data: bytes, sync: bool) -> Path:
    tmp = _tmp_name(path)
    with _creating:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if sync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    return tmp


def _syncfs(path: Path) -> bool:
    """Flush the file system holding `path` (one call for a whole batch of files);
    False when syncfs(2) is not available."""
    import ctypes

    try:
        fn = ctypes.CDLL(None).syncfs
    except AttributeError:
        return False
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return fn(fd) == 0
    finally:
        os.close(fd)


_Staged = list  # [(temporary file or None to remove, final path)], in commit order


class _Shared:
    """Temporary files already written in a batch, by directory and content: an output
    with the same bytes (the deny filter most profiles share) becomes another link
    to the same file instead of a new one. Outputs are only ever replaced by rename,
    never written in place, so sharing the inode is safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.files: dict[tuple[Path, bytes], Path] = {}

    def write(self, path: Path, data: bytes, sync: bool) -> Path:
        key = (path.parent, data)
        with self.lock:
            first = self.files.get(key)
            if first is None:
                first = self.files[key] = _write_tmp(path, data, sync)
                return first
        tmp = _tmp_name(path)
        try:
            with _creating:
                os.link(first, tmp)
        except OSError:
            return _write_tmp(path, data, sync)
        return tmp


def _stage(out: Path, result: CompileResult, sync: bool, shared: _Shared | None = None) -> _Staged:
    """Write the outputs of one result to temporary files beside OUT (nothing visible yet)."""
    staged: _Staged = []
    try:
        deny_path = out.with_name(out.name + ".deny")
        if result.deny is None:
            staged.append((None, deny_path))
        elif shared is not None:
            staged.append((shared.write(deny_path, result.deny, sync), deny_path))
        else:
            staged.append((_write_tmp(deny_path, result.deny, sync), deny_path))
        staged.append((_write_tmp(out, result.allow, sync), out))
    except BaseException:
        _discard([staged])
        raise
    return staged


def _discard(stages: list[_Staged]) -> None:
    for staged in stages:
        for tmp, _ in staged:
            if tmp is not None:
                tmp.unlink(missing_ok=True)


def _commit(stages: list[_Staged], synced: bool) -> None:
    """Make the temporary files durable (unless already fsynced one by one), rename them
    into place in order (a None removes a stale OUT.deny), fsync each directory once."""
    finals = [final for staged in stages for _, final in staged]
    dirs = list(dict.fromkeys(p.parent for p in finals))
    if not synced:
        devices: dict[int, Path] = {}
        for d in dirs:
            devices.setdefault(os.stat(d).st_dev, d)
        if not all(_syncfs(d) for d in devices.values()):
            for staged in stages:
                for tmp, _ in staged:
                    if tmp is not None:
                        fd = os.open(tmp, os.O_RDONLY | os.O_CLOEXEC)
                        try:
                            os.fsync(fd)
                        finally:
                            os.close(fd)
    for staged in stages:
        for tmp, final in staged:
            if tmp is None:
                final.unlink(missing_ok=True)
            else:
                os.replace(tmp, final)
    for d in dirs:
        fsync_dir(d)


def _write_error(exc: OSError, fallback: Path):
    from ...errors import ConfineError

    return ConfineError(f"cannot write {exc.filename or fallback}: {exc.strerror or exc}")


def compile_file(src_path: str | os.PathLike, out_path: str | os.PathLike, *, tree: bool = False) -> CompileResult:
    """Compile the source at SRC into OUT (the allow filter, linear unless tree=True)
    and, when SRC has `~` lines, OUT.deny; a stale OUT.deny is removed otherwise.

    Both files are replaced atomically (temporary file, fsync, rename, directory
    fsync), the deny filter first. Errors name the line and the token
    (SeccompSyntaxError); nothing is written then.
    """
    src, out = Path(src_path), Path(out_path)
    result = compile_policy(parse(_read_source(src), str(src)), tree=tree)
    stages = []
    try:
        stages.append(_stage(out, result, sync=True))
        _commit(stages, synced=True)
    except OSError as exc:
        _discard(stages)
        raise _write_error(exc, out) from None
    return result


def compile_files(jobs: list[tuple[str | os.PathLike, str | os.PathLike]], *, tree: bool = False,
                  workers: int | None = None) -> list[CompileResult]:
    """compile_file for a batch of (SRC, OUT) pairs, in one process (see compile_many).

    Sources are parsed in order, in this thread, while worker threads compile the
    ones already parsed, each writing its outputs to temporary files. A bad line
    anywhere stops the batch (the first bad source in the given order is reported,
    whatever else failed). Only when every profile compiled are the outputs made
    durable (one syncfs per file system) and renamed into place, OUT.deny before OUT,
    so a failure leaves every output as it was.
    """
    pairs = [(Path(s), Path(o)) for s, o in jobs]
    outs = [out for _, out in pairs]
    if len(set(outs)) != len(outs):
        from ...errors import UsageError

        raise UsageError("a batch names the same output twice")
    shared = _Shared()

    def work(item: tuple[_Job, Path]) -> tuple[CompileResult, _Staged]:
        job, out = item
        result = job.run().result()
        return result, _stage(out, result, sync=False, shared=shared)

    # Sources are read and parsed here, in order, while the first ones already compile.
    parsed = ((_Job(parse(_read_source(src), str(src)), tree), out) for src, out in pairs)
    results, error = _in_threads(parsed, len(pairs), work, workers)
    done = [r for r in results if r is not None]  # every temporary file must go on failure
    try:
        if error is not None:
            raise error
        _commit([staged for _, staged in done], synced=False)
    except OSError as exc:
        _discard([staged for _, staged in done])
        raise _write_error(exc, outs[0] if outs else Path(".")) from None
    except BaseException:
        _discard([staged for _, staged in done])
        raise
    return [result for result, _ in done]
