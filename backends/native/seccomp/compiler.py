"""Compile a seccomp Policy into classic BPF with libseccomp (through pyseccomp).

Two filters come out of one policy:

- the allow filter: default action ERRNO(EPERM) (LOG under @complain), one ALLOW
  rule per source line. It is byte-identical to what snap-seccomp 2.57.6 writes for
  the same text without its `~` lines: same libseccomp, same architectures (the
  native one plus its compat arch, i386 on x86-64), same order of rules, each added
  "exactly" first and, when libseccomp refuses that (a name that exists only on the
  compat arch, such as chown32), added again letting libseccomp translate it;
- the deny filter: default ALLOW, one ERRNO(EACCES) rule per `~` line; the launcher
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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .grammar import Policy, Rule, SeccompSyntaxError, parse

if TYPE_CHECKING:  # pragma: no cover
    import pyseccomp

UNRESTRICTED = b"@unrestricted\n"   # the whole allow output of an unrestricted policy

ACT_ALLOW = 0x7FFF0000
ACT_LOG = 0x7FFC0000
ACT_KILL_THREAD = 0x00000000


def act_errno(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


_seccomp = None
_resolved: dict[str, int] = {}


def _lib() -> "pyseccomp":
    """pyseccomp, imported once. Its import looks libraries up with ldconfig (about
    40 ms); the usual sonames are tried first, which is all that lookup would find."""
    global _seccomp
    if _seccomp is None:
        import ctypes
        import ctypes.util

        real = ctypes.util.find_library
        sonames = {"c": "libc.so.6", "seccomp": "libseccomp.so.2"}

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


def resolve(name: str) -> int:
    """libseccomp's number for a syscall name on the native arch; negative if unknown
    there (a pseudo-number for names of the compat arch, -1 for unknown names)."""
    nr = _resolved.get(name)
    if nr is None:
        nr = _resolved[name] = _lib().resolve_syscall(0, name)
    return nr


def known(name: str) -> bool:
    return resolve(name) != -1


@dataclass(frozen=True)
class CompileResult:
    """The filters of one policy.

    allow: the raw BPF of the allow filter, or UNRESTRICTED for a policy with no filter;
    deny: the raw BPF of the explicit denials, or None when there are none;
    skipped: unknown syscall names, in order of first appearance.
    """

    allow: bytes
    deny: bytes | None
    skipped: tuple[str, ...]
    unrestricted: bool = False
    complain: bool = False
    tree: bool = False

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


def _export(flt, method: str) -> bytes:
    fd = os.memfd_create("confine-seccomp", os.MFD_CLOEXEC)
    try:
        getattr(flt, method)(_Fd(fd))
        size = os.fstat(fd).st_size
        return os.pread(fd, size, 0) if size else b""
    finally:
        os.close(fd)


def _new_filter(default: int, tree: bool):
    lib = _lib()
    flt = lib.SyscallFilter(default)
    compat = _COMPAT.get(lib.system_arch())
    if compat is not None:
        flt.add_arch(compat)
    if tree:
        flt.set_attr(lib.Attr.CTL_OPTIMIZE, 2)
    return flt


_OP_CODES = {"NE": 1, "LT": 2, "LE": 3, "EQ": 4, "GE": 5, "GT": 6, "MASKED_EQ": 7}
_arrays: dict[tuple, tuple[int, object]] = {}


def _arg_array(args: tuple) -> tuple[int, object]:
    """The conditions of a rule as libseccomp's scmp_arg_cmp array (cached: the same
    conditions recur across profiles)."""
    found = _arrays.get(args)
    if found is None:
        lib = _lib()
        arr = (lib._ArgCmp * len(args))()
        for i, c in enumerate(args):
            arr[i].arg = c.index
            arr[i].op = _OP_CODES[c.op]
            if c.op == "MASKED_EQ":
                arr[i].datum_a, arr[i].datum_b = c.mask, c.value
            else:
                arr[i].datum_a = c.value
        found = _arrays[args] = (len(args), arr)
    return found


def _raw_adders(flt):
    """libseccomp's two rule calls on `flt`, returning libseccomp's status code.

    pyseccomp turns every refusal into an exception, and on a filter with two
    architectures libseccomp refuses every "exact" rule: hundreds of exceptions per
    profile. When pyseccomp exposes its library handle, call it directly (same
    library, same arguments); otherwise go through pyseccomp's methods.
    """
    lib = _lib()
    raw = getattr(lib, "_libseccomp", None)
    ctx = getattr(flt, "_filter", None)
    if raw is not None and ctx is not None and hasattr(lib, "_ArgCmp"):
        exact_fn, add_fn = raw.seccomp_rule_add_exact_array, raw.seccomp_rule_add_array

        def exact(action, nr, n, arr):
            return exact_fn(ctx, action, nr, n, arr)

        def add(action, nr, n, arr):
            return add_fn(ctx, action, nr, n, arr)
        return exact, add

    def via(method):
        def call(action, nr, n, arr):
            args = [lib.Arg(arr[i].arg, arr[i].op, arr[i].datum_a, arr[i].datum_b) for i in range(n)]
            try:
                method(action, nr, *args)
                return 0
            except OSError as exc:
                return -(exc.errno or errno.EINVAL)
        return call
    return via(flt.add_rule_exactly), via(flt.add_rule)


def _add_rules(flt, action: int, rules: tuple[Rule, ...], file: str, skipped: dict[str, None]) -> None:
    exact, add = _raw_adders(flt)
    for rule in rules:
        nr = resolve(rule.syscall)
        if nr == -1:
            skipped.setdefault(rule.syscall, None)
            continue
        n, arr = _arg_array(rule.args) if rule.args else (0, None)
        # Exactly as written first; when libseccomp refuses (a name of the compat
        # arch only, or several arches in the filter), let it translate the rule.
        if exact(action, nr, n, arr) == 0:
            continue
        rc = add(action, nr, n, arr)
        if rc != 0:
            raise SeccompSyntaxError(file, rule.line, rule.syscall,
                                     f"libseccomp refused the rule: {os.strerror(-rc)}")


def _build_allow(policy: Policy, tree: bool, skipped: dict[str, None]):
    flt = _new_filter(ACT_LOG if policy.complain else act_errno(errno.EPERM), tree)
    _add_rules(flt, ACT_ALLOW, policy.rules, policy.file, skipped)
    return flt


def _build_deny(policy: Policy, tree: bool, skipped: dict[str, None]):
    flt = _new_filter(ACT_ALLOW, tree)
    _add_rules(flt, act_errno(errno.EACCES), policy.denials, policy.file, skipped)
    return flt


_deny_cache: dict[tuple, tuple[bytes, tuple[str, ...]]] = {}
_DENY_CACHE_MAX = 64
_deny_lock = threading.Lock()


def _deny_bytes(policy: Policy, tree: bool) -> tuple[bytes, tuple[str, ...]]:
    """The deny filter of `policy` and the names it skipped. Most profiles share the
    template's denials, so the result is kept per distinct set of denial rules."""
    key = (tree, tuple((r.syscall, r.args) for r in policy.denials))
    found = _deny_cache.get(key)
    if found is None:
        skipped: dict[str, None] = {}
        found = (_export(_build_deny(policy, tree, skipped), "export_bpf"), tuple(skipped))
        with _deny_lock:
            if len(_deny_cache) >= _DENY_CACHE_MAX:
                _deny_cache.pop(next(iter(_deny_cache)))
            _deny_cache[key] = found
    return found


def compile_policy(policy: Policy, *, tree: bool = False) -> CompileResult:
    """Both filters of `policy`. tree=True: libseccomp's binary-tree layout (what the
    launcher loads); tree=False: the linear layout snap-seccomp writes."""
    if policy.unrestricted:
        return CompileResult(UNRESTRICTED, None, (), True, policy.complain, tree)
    skipped: dict[str, None] = {}
    allow = _export(_build_allow(policy, tree, skipped), "export_bpf")
    deny = None
    if policy.denials:
        deny, deny_skipped = _deny_bytes(policy, tree)
        for name in deny_skipped:
            skipped.setdefault(name, None)
    return CompileResult(allow, deny, tuple(skipped), False, policy.complain, tree)


def compile_many(policies: list[Policy], *, tree: bool = False, workers: int | None = None) -> list[CompileResult]:
    """Compile a batch of policies, in order, on a few threads of this process.

    libseccomp does its work in C without Python's lock (ctypes releases it), on a
    filter context of its own per call, so profiles compile side by side on
    several cores. The results are the same bytes as one by one.
    """
    policies = list(policies)
    workers = workers or min(len(policies), os.cpu_count() or 1)
    if workers <= 1 or len(policies) <= 1:
        return [compile_policy(p, tree=tree) for p in policies]
    _lib()
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seccomp-compile") as pool:
        return list(pool.map(lambda p: compile_policy(p, tree=tree), policies))


def compile_allow(policy: Policy, *, tree: bool = False) -> bytes | None:
    """The allow filter as raw BPF; None for an @unrestricted policy (no filter)."""
    if policy.unrestricted:
        return None
    return _export(_build_allow(policy, tree, {}), "export_bpf")


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
        out.append("# explicit denials (loaded first; ERRNO(13) is EACCES)\n")
        out.append(_export(_build_deny(policy, tree, skipped), "export_pfc").decode())
        out.append("# allow filter\n")
    out.append(_export(_build_allow(policy, tree, skipped), "export_pfc").decode())
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


def _write_outputs(result: CompileResult, out: Path) -> None:
    from ...errors import ConfineError
    from ..state import atomic_write

    deny_path = out.with_name(out.name + ".deny")
    try:
        if result.deny is not None:
            atomic_write(deny_path, result.deny)
        else:
            deny_path.unlink(missing_ok=True)
        atomic_write(out, result.allow)
    except OSError as exc:
        raise ConfineError(f"cannot write {exc.filename or out}: {exc.strerror or exc}") from None


def compile_file(src_path: str | os.PathLike, out_path: str | os.PathLike, *, tree: bool = False) -> CompileResult:
    """Compile the source at SRC into OUT (the allow filter, linear unless tree=True)
    and, when SRC has `~` lines, OUT.deny; a stale OUT.deny is removed otherwise.

    Both files are replaced atomically, the deny filter first. Errors name the line
    and the token (SeccompSyntaxError); nothing is written then.
    """
    src, out = Path(src_path), Path(out_path)
    result = compile_policy(parse(_read_source(src), str(src)), tree=tree)
    _write_outputs(result, out)
    return result


def compile_files(jobs: list[tuple[str | os.PathLike, str | os.PathLike]], *, tree: bool = False,
                  workers: int | None = None) -> list[CompileResult]:
    """compile_file for a batch of (SRC, OUT) pairs: every source is parsed first (a bad
    line anywhere stops the batch before anything is written), then all compile
    side by side (compile_many) and the outputs are written."""
    jobs = [(Path(s), Path(o)) for s, o in jobs]
    policies = [parse(_read_source(src), str(src)) for src, _ in jobs]
    results = compile_many(policies, tree=tree, workers=workers)
    for (_, out), result in zip(jobs, results):
        _write_outputs(result, out)
    return results
