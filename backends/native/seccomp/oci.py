"""OCI seccomp JSON: export a Policy as a runtime-spec profile, import Docker and
podman profiles into the line grammar.

The format is the `linux.seccomp` object of the OCI runtime spec, as Docker and
podman write their profiles: `defaultAction` (and `defaultErrnoRet`),
`architectures` (or Docker's `archMap`), and `syscalls`, a list of rules with
`names`, `action`, `errnoRet` and `args` ({index, value, valueTwo, op}; for
SCMP_CMP_MASKED_EQ `value` is the mask and `valueTwo` the expected result).
Docker's profile format adds `includes` / `excludes` per rule (`caps`, `arches`,
`minKernel`): a rule applies only when every include holds and no exclude does.

What a runtime does with a profile is what libseccomp makes of it, and libseccomp
does NOT let the most restrictive rule win. Measured with libseccomp 2.5.4: of two
rules without arguments for one syscall the first added wins; a rule without
arguments overrides every rule with arguments for that syscall, whatever their
order (an unconditional ALLOW of ioctl silently swallows an ERRNO rule for
TIOCSTI); overlapping argument rules resolve by the shape of libseccomp's tree,
or are refused (EEXIST). So:

- export writes rules that never overlap with different actions: the explicit
  denials (ERRNO with the line's errno, EACCES unless `errno=` says otherwise,
  listed first), each cut to the calls an allow rule lets through, and each allow
  rule minus the denials of its syscall (split into pieces when needed). Any
  resolution order then gives the decisions of our two filters. (A `~` line
  answers only where the allow filter allows: on a tie of two ERRNO answers the
  kernel keeps the filter loaded last, the allow filter's EPERM.)
  One corner is out of reach of any single filter: on i386, libseccomp turns
  socket and SysV IPC calls into rules on their multiplexers (socketcall, ipc),
  replacing the argument conditions it cannot see by the sub-call number, so an
  allow piece and a `~` line with conditions for one such syscall become rules
  with different actions on one chain, which libseccomp refuses (EEXIST) in
  either order. There the export refuses the syscall outright (EACCES): narrower,
  and said in a note. The project's own policies have no such line. So too for
  a syscall whose pieces would pass MAX_PIECES rules (the filter would outgrow
  what the kernel loads); an app's ioctl without TIOCSTI and TIOCLINUX takes 34.
- import reads a profile as "the most restrictive matching rule wins, else the
  default action": the reading that never allows what any matching rule refuses.
  Where a profile's rules conflict, a warning says so (a runtime would follow
  libseccomp's order-dependent choice instead).

The line grammar says less than OCI JSON. Import never widens: what cannot be said
is dropped in the narrowing direction, with a warning naming the rule (its JSON
path). Decisions, briefly (each is explained where it is made):

- the grammar refuses with EPERM (default), a `~` line's errno (EACCES unless
  `errno=`) or logs (@complain): an ERRNO refusal keeps its errno; KILL*, TRAP,
  TRACE and NOTIFY become EPERM or EACCES (still refused; a tracer or a notify
  supervisor could have allowed the call, so refusing is the narrow side); a
  non-EPERM default errno (podman's ENOSYS) becomes EPERM;
- a refusal that no allow rule reaches is left to the default, except an ERRNO
  refusal of a whole syscall with another errno than EPERM (clone3's ENOSYS) or
  any EACCES one; one that overlaps an allow rule becomes a `~` line (with
  `errno=` unless EACCES), a condition the grammar cannot say widened or dropped
  in it (refusing more is the narrow side). An ERRNO refusal with conditions and
  another errno that no allow rule reaches is left to the default EPERM, warned;
- an allow rule is written with the fewest conditions that allow no call beyond
  what the profile allows or a `~` line refuses anyway (the same decisions); a
  rule with no such form (a general mask, a value over 32 bits, two conditions
  on one argument, a 64-bit condition on the 32-bit id arguments of the
  chown/set*id families) is dropped;
- SCMP_ACT_LOG rules allow without logging (the grammar logs only as a whole);
- a default ALLOW profile becomes @unrestricted when nothing is refused, else an
  allow list of every syscall libseccomp knows, minus what the rules refuse;
- the compat arch (i386) is always filtered with the same rules, x32 never.
"""
from __future__ import annotations

import errno as _errno
import itertools
import os
import re
from dataclasses import dataclass, field

from ...errors import SourceError, UsageError
from .grammar import LOW32, NEGATIVE_ARG_SYSCALLS, U32_MAX, Policy, Rule, parse

FULL = (1 << 64) - 1
EPERM = _errno.EPERM
EACCES = _errno.EACCES


class OCIError(SourceError):
    """A profile that cannot be read: names the file and the field (its JSON path)."""

    def __init__(self, file: str, path: str, message: str, line: int | None = None):
        super().__init__(file, line, path, message)


# ---- vocabulary of the format ------------------------------------------------------

ACTIONS = ("SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
           "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_NOTIFY", "SCMP_ACT_LOG", "SCMP_ACT_ALLOW")
_REFUSALS = {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
             "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_NOTIFY"}
_WHY = {
    "SCMP_ACT_TRACE": "it hands the call to a ptrace tracer, which confine does not run",
    "SCMP_ACT_NOTIFY": "it hands the call to a supervisor on the listener socket, which confine does not run",
    "SCMP_ACT_TRAP": "the grammar cannot send SIGSYS",
    "SCMP_ACT_KILL": "the grammar cannot kill",
    "SCMP_ACT_KILL_THREAD": "the grammar cannot kill",
    "SCMP_ACT_KILL_PROCESS": "the grammar cannot kill",
}

OPS = {"SCMP_CMP_NE": "NE", "SCMP_CMP_LT": "LT", "SCMP_CMP_LE": "LE", "SCMP_CMP_EQ": "EQ",
       "SCMP_CMP_GE": "GE", "SCMP_CMP_GT": "GT", "SCMP_CMP_MASKED_EQ": "MASKED_EQ"}
_OCI_OP = {v: k for k, v in OPS.items()}

SCMP_ARCHES = ("SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
               "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
               "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
               "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC",
               "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",
               "SCMP_ARCH_SH", "SCMP_ARCH_SHEB")

# The names Docker and podman use in includes/excludes `arches` (libseccomp's names
# of the native architecture), from the spellings a caller may give.
_ARCH_ALIASES = {
    "x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
    "i386": "x86", "i686": "x86", "386": "x86", "x86": "x86", "arm": "arm", "armv7l": "arm", "armhf": "arm",
    "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
}
# native profile arch -> (the SCMP_ARCH of archMap and `architectures`, the compat
# arch the compiler adds to every filter, or None)
_ARCH_SCMP = {
    "amd64": ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86"), "arm64": ("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"),
    "x86": ("SCMP_ARCH_X86", None), "arm": ("SCMP_ARCH_ARM", None), "ppc64le": ("SCMP_ARCH_PPC64LE", None),
    "s390x": ("SCMP_ARCH_S390X", None), "riscv64": ("SCMP_ARCH_RISCV64", None),
}

# Every Linux capability (include/uapi/linux/capability.h).
CAPABILITIES = frozenset({
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
})

# The capabilities Docker gives a container by default: the set `includes.caps` and
# `excludes.caps` are checked against unless the caller names another.
DOCKER_DEFAULT_CAPS = frozenset({
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
    "CAP_AUDIT_WRITE",
})

_SYSCALL_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_KERNEL = re.compile(r"([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?")


# ---- conditions on one argument, and conjunctions of them --------------------------
#
# A condition is (op, a, b) with op one of EQ NE LT LE GT GE MASKED_EQ: for
# MASKED_EQ `arg & a == b`, otherwise `arg <op> a` (b is 0), on the 64-bit argument.
# A conjunction (what one rule requires) maps an argument index to one condition:
# libseccomp refuses two comparisons of one argument in a rule, and so does the grammar.

Cond = tuple  # (op, a, b)


def _holds(c: Cond, x: int) -> bool:
    op, a, b = c
    if op == "MASKED_EQ":
        return x & a == b
    return {"EQ": x == a, "NE": x != a, "LT": x < a, "LE": x <= a, "GT": x > a, "GE": x >= a}[op]


def _next_match(lo: int, mask: int, value: int) -> int | None:
    """The smallest x >= lo with x & mask == value (value within mask), or None."""
    if lo & mask == value:
        return lo
    for i in range(64):
        bit = 1 << i
        if lo & bit or (mask & bit and not value & bit):
            continue        # x must differ from lo first at a bit where lo has 0 and x may have 1
        upper = (lo >> (i + 1)) << (i + 1)
        above = mask & ~((bit << 1) - 1)
        if upper & above != value & above:
            continue
        return upper | bit | (value & (bit - 1))
    return None


def _sat(conds) -> bool:
    """Whether some 64-bit value meets every condition of `conds` (all on one argument)."""
    lo, hi, mask, value, ne = 0, FULL, 0, 0, set()
    for op, a, b in conds:
        if op == "EQ":
            lo, hi = max(lo, a), min(hi, a)
        elif op == "NE":
            ne.add(a)
        elif op == "LT":
            if a == 0:
                return False
            hi = min(hi, a - 1)
        elif op == "LE":
            hi = min(hi, a)
        elif op == "GT":
            if a >= FULL:
                return False
            lo = max(lo, a + 1)
        elif op == "GE":
            lo = max(lo, a)
        else:
            if b & ~a or (value ^ b) & mask & a:
                return False
            mask, value = mask | a, value | b
    if not mask and not ne:
        return lo <= hi
    x = lo
    while x <= hi:
        x = _next_match(x, mask, value)
        if x is None or x > hi:
            return False
        if x not in ne:
            return True
        x += 1
    return False


def _simplify(c: Cond) -> Cond | None:
    """The same condition in its plainest form; None when every value meets it."""
    op, a, b = c
    if op == "MASKED_EQ":
        if a == 0 and b == 0:
            return None
        if a == FULL:
            return ("EQ", b, 0)
    elif (op == "GE" and a == 0) or (op == "LE" and a == FULL):
        return None
    return c


def _cube_complement(mask: int, value: int) -> list[Cond]:
    """x & mask != value, as masked equalities: the first bit (from the top) where x
    differs from value, with the bits above it equal."""
    out, above = [], 0
    for i in range(63, -1, -1):
        bit = 1 << i
        if mask & bit:
            out.append(("MASKED_EQ", above | bit, (value & above) | (~value & bit)))
            above |= bit
    return out


def _complement(c: Cond) -> list[Cond]:
    """The values that fail `c`, as a union of conditions."""
    op, a, b = c
    if op == "MASKED_EQ":
        if b & ~a:
            return [("MASKED_EQ", 0, 0)]
        return _cube_complement(a, b)
    return [({"EQ": "NE", "NE": "EQ", "LT": "GE", "LE": "GT", "GT": "LE", "GE": "LT"}[op], a, 0)]


def _range_cubes(lo: int, hi: int) -> list[Cond]:
    out = []
    while lo <= hi:
        size = lo & -lo if lo else 1 << 64
        while size > hi - lo + 1:
            size >>= 1
        out.append(("MASKED_EQ", FULL & ~(size - 1), lo))
        lo += size
    return out


def _cubes(c: Cond) -> list[Cond]:
    """`c` as a union of masked equalities."""
    op, a, b = c
    if op == "MASKED_EQ":
        return [c] if not b & ~a else []
    if op == "EQ":
        return [("MASKED_EQ", FULL, a)]
    if op == "NE":
        return _cube_complement(FULL, a)
    lo, hi = {"LT": (0, a - 1), "LE": (0, a), "GT": (a + 1, FULL), "GE": (a, FULL)}[op]
    return _range_cubes(lo, hi) if lo <= hi else []


def _subset1(c1: Cond, c2: Cond) -> bool:
    return not any(_sat([c1, n]) for n in _complement(c2))


_INTERVAL = frozenset({"EQ", "LT", "LE", "GT", "GE"})


def _interval(c: Cond) -> tuple[int, int]:
    op, a, _ = c
    return {"EQ": (a, a), "LT": (0, a - 1), "LE": (0, a), "GT": (a + 1, FULL), "GE": (a, FULL)}[op]


def _from_interval(lo: int, hi: int) -> list[Cond]:
    """The values lo..hi as few single conditions as OCI allows (one comparison each)."""
    if lo > hi:
        return []
    if lo == hi:
        return [("EQ", lo, 0)]
    if lo == 0:
        return [("LE", hi, 0)] if hi < FULL else [("MASKED_EQ", 0, 0)]
    if hi == FULL:
        return [("GE", lo, 0)]
    return _range_cubes(lo, hi)


def _intersect1(c1: Cond, c2: Cond) -> list[Cond]:
    """c1 and c2 on one argument, as a union of single conditions (libseccomp takes one
    comparison per argument)."""
    if not _sat([c1, c2]):
        return []
    if _subset1(c1, c2):
        return [c1]
    if _subset1(c2, c1):
        return [c2]
    if c1[0] == "NE":
        c1, c2 = c2, c1
    if c1[0] in _INTERVAL and c2[0] in _INTERVAL:
        (lo1, hi1), (lo2, hi2) = _interval(c1), _interval(c2)
        return _from_interval(max(lo1, lo2), min(hi1, hi2))
    if c1[0] in _INTERVAL and c2[0] == "NE":
        lo, hi = _interval(c1)
        point = c2[1]
        return _from_interval(lo, min(hi, point - 1)) + _from_interval(max(lo, point + 1), hi)
    out = []
    for x in _cubes(c1):
        for y in _cubes(c2):
            if _sat([x, y]):
                out.append(_simplify(("MASKED_EQ", x[1] | y[1], x[2] | y[2])) or ("MASKED_EQ", 0, 0))
    return out


def _nonempty(conj: dict) -> bool:
    return all(_sat([c]) for c in conj.values())


def _overlap(p: dict, q: dict) -> bool:
    """Whether some call meets both conjunctions."""
    return _nonempty(p) and _nonempty(q) and all(_sat([p[i], q[i]]) for i in p.keys() & q.keys())


def _subtract(p: dict, d: dict) -> list[dict]:
    """p and not d, as a union of conjunctions (pieces may overlap each other)."""
    if not _overlap(p, d):
        return [p] if _nonempty(p) else []
    out = []
    for i, c in sorted(d.items()):
        for n in _complement(c):
            if i in p:
                out.extend({**p, i: piece} for piece in _intersect1(p[i], n))
            elif _sat([n]):
                out.append({**p, i: n})
    return out


class _Work:
    """A bound on the work of coverage checks (each subtraction of a region from a
    piece counts one): past it, checks answer False, the narrow side."""

    def __init__(self, steps: int):
        self.steps = steps


def _covered(q: dict, regions: list[dict], limit: int = 4096, work: _Work | None = None) -> bool:
    """Whether every call meeting q meets one of `regions` (False when unsure)."""
    if any(all(i in q and _subset1(q[i], c) for i, c in r.items()) for r in regions):
        return True     # within one region
    pieces = [q]
    for r in regions:
        nxt = []
        for piece in pieces:
            if work is not None:
                work.steps -= 1
                if work.steps < 0:
                    return False
            nxt.extend(_subtract(piece, r))
            if len(nxt) > limit:
                return False
        pieces = nxt
        if not pieces:
            return True
    return not pieces


def _conj_of(rule: Rule) -> dict:
    return {c.index: ((c.op, c.mask, c.value) if c.op == "MASKED_EQ" else (c.op, c.value, 0))
            for c in rule.args}


def _oci_args(conj: dict) -> list[dict]:
    out = []
    for i in sorted(conj):
        c = _simplify(conj[i])
        if c is not None:       # a condition every value meets says nothing
            op, a, b = c
            out.append({"index": i, "value": a, "valueTwo": b, "op": _OCI_OP[op]})
    return out


# ---- export ---------------------------------------------------------------------------

def _conjoin(p: dict, q: dict) -> list[dict]:
    """p and q, as a union of conjunctions (one condition per argument)."""
    out = [{}]
    for i in sorted(p.keys() | q.keys()):
        options = _intersect1(p[i], q[i]) if i in p and i in q else [p.get(i) or q[i]]
        out = [{**o, i: c} for o in out for c in options]
    return [o for o in out if _nonempty(o)]


def _pieces(rule: Rule, denials) -> list[dict]:
    """An allow rule minus the denials of its syscall, as conjunctions."""
    pieces = [_conj_of(rule)]
    for d in denials:
        pieces = [q for p in pieces for q in _subtract(p, d)]
    return pieces


def _machine_arches() -> list[str]:
    """The architectures the compiler filters on this machine: native and compat."""
    native = _ARCH_ALIASES.get(os.uname().machine, "amd64")
    scmp, compat = _ARCH_SCMP.get(native, ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86"))
    return [scmp] + ([compat] if compat else [])


# Rules one syscall may take in an export (an app's ioctl takes 34).
MAX_PIECES = 256

# Syscalls that libseccomp multiplexes on i386 (socketcall and ipc sub-calls).
MULTIPLEXED = frozenset({
    "socket", "bind", "connect", "listen", "accept", "getsockname", "getpeername", "socketpair", "send",
    "recv", "sendto", "recvfrom", "shutdown", "setsockopt", "getsockopt", "sendmsg", "recvmsg", "accept4",
    "recvmmsg", "sendmmsg",
    "semop", "semget", "semctl", "semtimedop", "msgsnd", "msgrcv", "msgget", "msgctl", "shmat", "shmdt",
    "shmget", "shmctl",
})


def export_oci(policy: Policy, notes: list[str] | None = None) -> dict:
    """The OCI seccomp profile that decides every call as the policy's two filters do.

    defaultAction: SCMP_ACT_ERRNO with defaultErrnoRet 1 (EPERM), SCMP_ACT_LOG under
    @complain, SCMP_ACT_ALLOW (and no rules) for @unrestricted, which loads no
    filter at all. Explicit denials come first as SCMP_ACT_ERRNO with errnoRet 13
    (EACCES), cut to the calls some allow rule lets through (elsewhere our filters
    answer EPERM; under @complain, EACCES everywhere); allow rules follow, grouped
    by identical arguments, each one minus the denials of its syscall so that no
    two rules with different actions overlap (libseccomp resolves overlaps by rule
    order and shape, not by restrictiveness).
    x32 is never listed: its calls are killed, as under the compiled filter.

    `notes`, when given, receives a line for each place where the profile is
    narrower than the filters: a syscall refused outright because libseccomp cannot
    hold its rules in one filter (MULTIPLEXED, in the module's description) or
    because they would take more than MAX_PIECES rules.
    """
    arches = _machine_arches()
    if policy.unrestricted:
        return {"defaultAction": "SCMP_ACT_ALLOW", "architectures": arches, "syscalls": []}
    out: dict = {"defaultAction": "SCMP_ACT_LOG" if policy.complain else "SCMP_ACT_ERRNO"}
    if not policy.complain:
        out["defaultErrnoRet"] = EPERM
    out["architectures"] = arches

    def grouped(pairs) -> dict:
        groups: dict[tuple, list[str]] = {}
        for name, conj in pairs:
            key = tuple(sorted(conj.items()))
            names = groups.setdefault(key, [])
            if name not in names:
                names.append(name)
        return groups

    denials: dict[str, list[dict]] = {}
    for r in policy.denials:
        denials.setdefault(r.syscall, []).append(_conj_of(r))
    pieces: dict[int, list[dict]] = {}   # allow rule (by position) -> its pieces
    counts: dict[str, int] = {}
    for n, r in enumerate(policy.rules):
        pieces[n] = _pieces(r, denials.get(r.syscall, ()))
        counts[r.syscall] = counts.get(r.syscall, 0) + len(pieces[n])
    refused: set[str] = set()      # syscalls refused outright
    for name in sorted(denials.keys() & counts.keys()):
        if not counts[name]:
            continue
        if "SCMP_ARCH_X86" in arches and name in MULTIPLEXED:
            why = ("its explicit denials have argument conditions, which libseccomp cannot combine with "
                   "allow rules in one filter on i386's multiplexer")
        elif counts[name] > MAX_PIECES:
            why = (f"its allow rules minus its explicit denials take {counts[name]} rules (more than "
                   f"{MAX_PIECES}; the filter would grow past what the kernel loads)")
        else:
            continue
        refused.add(name)
        if notes is not None:
            notes.append(f"{name}: refused outright (EACCES): {why}")
    def deny_pieces():
        # A `~` line answers its errno (EACCES unless errno=) only where the allow filter lets the call through
        # (on a tie of two ERRNO answers the kernel keeps the filter loaded last, the
        # allow filter's EPERM); under @complain it wins over the default LOG too.
        for r in policy.denials:
            d = _conj_of(r)
            answer = EACCES if r.syscall in refused or r.errno is None else r.errno
            if r.syscall in refused or policy.complain:
                yield (r.syscall, answer), {} if r.syscall in refused else d
                continue
            for a in policy.rules:
                if a.syscall == r.syscall:
                    for piece in _conjoin(_conj_of(a), d):
                        yield (r.syscall, answer), piece

    syscalls = []
    by_errno: dict[tuple, list[str]] = {}
    for key, named in grouped(deny_pieces()).items():
        for name, answer in named:
            names = by_errno.setdefault((answer, key), [])
            if name not in names:
                names.append(name)
    for (answer, key), names in by_errno.items():
        entry = {"names": names, "action": "SCMP_ACT_ERRNO", "errnoRet": answer}
        if key:
            entry["args"] = _oci_args(dict(key))
        syscalls.append(entry)

    def allow_pieces():
        for n, r in enumerate(policy.rules):
            if r.syscall in refused:
                continue
            seen = set()
            for p in pieces[n]:
                key = tuple(sorted(p.items()))
                if key not in seen:
                    seen.add(key)
                    yield r.syscall, p

    for key, names in grouped(allow_pieces()).items():
        entry = {"names": names, "action": "SCMP_ACT_ALLOW"}
        if key:
            entry["args"] = _oci_args(dict(key))
        syscalls.append(entry)
    out["syscalls"] = syscalls
    return out


# ---- import: reading and checking the JSON ------------------------------------------

def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _kernel_tuple(text: str) -> tuple[int, int, int] | None:
    m = _KERNEL.match(text.strip()) if isinstance(text, str) else None
    if not m:
        return None
    return tuple(int(g or 0) for g in m.groups())  # type: ignore[return-value]


def _errno_name(code: int) -> str:
    name = _errno.errorcode.get(code)
    return f"errno {code} ({name})" if name else f"errno {code}"


@dataclass
class _Entry:
    """One rule of the profile that applies here, checked."""

    path: str
    names: list[str]
    action: str
    errno: int | None          # for SCMP_ACT_ERRNO
    conj: dict                 # argument index -> condition
    doubled: set[int] = field(default_factory=set)   # indices given two conditions

    @property
    def kind(self) -> str:
        if self.action == "SCMP_ACT_ALLOW":
            return "allow"
        if self.action == "SCMP_ACT_LOG":
            return "log"
        return "refuse"

    def refusal(self) -> str:
        return _errno_name(self.errno) if self.action == "SCMP_ACT_ERRNO" else self.action


class _Reader:
    def __init__(self, file: str):
        self.file = file

    def fail(self, path: str, message: str):
        raise OCIError(self.file, path or "(top level)", message)

    def obj(self, v, path: str, optional: bool = False) -> dict:
        if v is None and optional:
            return {}
        if not isinstance(v, dict):
            self.fail(path, f"must be an object, not {_kind(v)}")
        return v

    def lst(self, v, path: str) -> list:
        if v is None:
            return []
        if not isinstance(v, list):
            self.fail(path, f"must be a list, not {_kind(v)}")
        return v

    def strings(self, v, path: str) -> list[str]:
        items = self.lst(v, path)
        for i, s in enumerate(items):
            if not isinstance(s, str):
                self.fail(f"{path}[{i}]", f"must be a string, not {_kind(s)}")
        return items

    def uint(self, v, path: str, top: int) -> int:
        if not _is_int(v) or not 0 <= v <= top:
            self.fail(path, f"must be an integer from 0 to {top}, not {v!r}")
        return v

    def errno_of(self, d: dict, path: str, ret_key: str, name_key: str) -> int:
        if d.get(ret_key) is not None:
            return self.uint(d[ret_key], f"{path}.{ret_key}" if path else ret_key, 0xFFFF)
        name = d.get(name_key)
        if name is not None:
            code = getattr(_errno, name, None) if isinstance(name, str) and name.startswith("E") else None
            if not _is_int(code):
                self.fail(f"{path}.{name_key}" if path else name_key, f"unknown errno name {name!r}")
            return code
        return EPERM   # runc and crun return EPERM when no errno is given


def _kind(v) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(v), "a number" if isinstance(v, (int, float)) else type(v).__name__)


def _normal_caps(caps) -> frozenset[str]:
    out = set()
    for c in caps:
        name = str(c).strip().upper()
        if not name:
            continue
        if not name.startswith("CAP_"):
            name = "CAP_" + name
        if name not in CAPABILITIES:
            raise UsageError(f"unknown capability {c!r} (capabilities are named like CAP_SYS_ADMIN)")
        out.add(name)
    return frozenset(out)


def _this_kernel() -> str:
    return os.uname().release


def _shortlist(names: list[str], n: int = 4) -> str:
    shown = ", ".join(names[:n])
    return shown + (f" and {len(names) - n} more" if len(names) > n else "")


class _Warnings:
    """Warnings, one per reason, naming the rules (JSON paths) and syscalls concerned."""

    def __init__(self):
        self._items: dict[str, tuple[list[str], list[str]]] = {}

    def add(self, path: str, message: str, name: str | None = None) -> None:
        paths, names = self._items.setdefault(message, ([], []))
        if path not in paths:
            paths.append(path)
        if name and name not in names:
            names.append(name)

    def lines(self) -> list[str]:
        out = []
        for message, (paths, names) in self._items.items():
            where = _shortlist(paths, 3) + (f" ({_shortlist(names)})" if names else "")
            out.append(f"{where}: {message}")
        return out


# ---- import: conditions into grammar tokens -------------------------------------------

_PREFIX = {"EQ": "", "NE": "!", "LT": "<", "LE": "<=", "GT": ">", "GE": ">="}


def _allow_token(name: str, c: Cond) -> tuple[str | None, str]:
    """The grammar token that allows exactly the values meeting `c`, or (None, why)."""
    op, a, b = c
    if name in NEGATIVE_ARG_SYSCALLS:
        # The grammar compares every argument of these syscalls on its low 32 bits,
        # with plain values only: a 64-bit condition would be widened.
        if op == "MASKED_EQ" and a == LOW32:
            return str(b), ""
        return None, (f"the grammar compares the arguments of {name} on their low 32 bits with plain "
                      "values only")
    if op == "MASKED_EQ":
        if a == b and a <= U32_MAX:
            return f"|{a}", ""
        return None, ("a masked comparison whose mask and value differ (the grammar has only |N, "
                      "mask and value the same 32-bit number)")
    if a > U32_MAX:
        return None, "a value over 32 bits"
    return f"{_PREFIX[op]}{a}", ""


def _deny_token(name: str, c: Cond) -> tuple[str | None, Cond | None, str]:
    """A grammar token for a `~` line that refuses at least the values meeting `c`:
    (token, the condition it stands for, a note when it refuses more), or
    (None, None, why) when the condition must be dropped (refusing for any value)."""
    op, a, b = c
    # A `~` line compares a plain value on the low 32 bits (grammar): for a refusal,
    # matching more values is the narrow side.
    if op == "MASKED_EQ" and a == LOW32:
        return str(b), ("MASKED_EQ", LOW32, b), ""
    if op == "EQ":
        note = "" if a <= U32_MAX else "a value over 32 bits, compared on its low 32 bits"
        return str(a & LOW32), ("MASKED_EQ", LOW32, a & LOW32), note
    if name in NEGATIVE_ARG_SYSCALLS:
        return None, None, f"the grammar compares the arguments of {name} with plain values only"
    if op == "MASKED_EQ":
        if a == b and a <= U32_MAX:
            return f"|{a}", c, ""
        return None, None, "a masked comparison whose mask and value differ"
    if a > U32_MAX:
        return None, None, "a value over 32 bits"
    return f"{_PREFIX[op]}{a}", c, ""


def _tokens(conj: dict) -> list[str]:
    tokens = ["-"] * (max(conj) + 1 if conj else 0)
    for i, t in conj.items():
        tokens[i] = t
    return tokens


def _allow_line(name: str, conj: dict) -> tuple[str | None, str]:
    toks = {}
    for i, c in sorted(conj.items()):
        t, why = _allow_token(name, c)
        if t is None:
            return None, f"argument {i}: {why}"
        toks[i] = t
    return " ".join([name, *_tokens(toks)]), ""


def _deny_wider(name: str, c: Cond) -> list[tuple[str, Cond]]:
    """`~` tokens refusing at least the values meeting `c` (a masked comparison the
    grammar cannot say), with the conditions they stand for."""
    op, a, b = c
    out: list[tuple[str, Cond]] = []
    if op != "MASKED_EQ":
        return out
    if a & LOW32 == LOW32:      # compared on the low 32 bits only: more values
        out.append((str(b & LOW32), ("MASKED_EQ", LOW32, b & LOW32)))
    if name in NEGATIVE_ARG_SYSCALLS:
        return out
    out.extend((_allow_token(name, w)[0], w) for w in _wider(name, c))
    return out


def _deny_line(name: str, conj: dict, allowed: list[dict] = ()) -> tuple[str, dict, list[str]]:
    """The `~` line refusing at least `conj`, the conjunction it stands for, and notes on
    conditions it had to widen or drop. A condition the grammar cannot say is replaced
    by a wider one that refuses nothing more of `allowed` when there is one."""
    toks, meant, notes = {}, {}, []
    for i, c in sorted(conj.items()):
        t, cond, note = _deny_token(name, c)
        if t is None:
            options = _deny_wider(name, c)
            exact = [(tok, w) for tok, w in options
                     if not any(_overlap(a, piece) for piece in _subtract({**conj, i: w}, conj) for a in allowed)]
            if exact:
                t, cond = exact[0]
            elif options:
                t, cond = options[0]
                notes.append(f"argument {i}: {note}: refused for more values of it")
            else:
                notes.append(f"argument {i}: {note}: refused for any value of it")
                continue
        elif note:
            notes.append(f"argument {i}: {note}")
        toks[i], meant[i] = t, cond
    return " ".join(["~" + name, *_tokens(toks)]), meant, notes


# ---- import ----------------------------------------------------------------------------

@dataclass
class _Syscall:
    name: str
    entries: list[_Entry] = field(default_factory=list)


def import_oci(data: dict, *, caps: set[str] | frozenset[str] | None = None, arch: str = "x86_64",
               kernel: str | None = None, file: str = "<oci>") -> tuple[str, list[str]]:
    """A Docker/podman/OCI seccomp profile as line-grammar source text, and warnings.

    caps: the capabilities `includes.caps` / `excludes.caps` are checked against
    (default: Docker's default set, DOCKER_DEFAULT_CAPS); arch: the native
    architecture the profile is applied for (x86_64, aarch64...: matched against
    `arches` as Docker names them, amd64, arm64...); kernel: the kernel release
    `minKernel` is compared with (default: this kernel's). A profile that cannot be
    read raises OCIError naming `file` and the field's JSON path.
    """
    r = _Reader(file)
    caps = DOCKER_DEFAULT_CAPS if caps is None else _normal_caps(caps)
    native = _ARCH_ALIASES.get(str(arch).lower())
    if native is None:
        raise UsageError(f"unknown architecture {arch!r} (x32 and others are not supported: "
                         f"one of {', '.join(sorted(_ARCH_ALIASES))})")
    kernel_text = kernel if kernel is not None else _this_kernel()
    kernel_v = _kernel_tuple(kernel_text)
    if kernel_v is None:
        raise UsageError(f"not a kernel version: {kernel_text!r}")
    warn = _Warnings()
    data = r.obj(data, "")

    # The default action.
    default = data.get("defaultAction")
    if default is None:
        r.fail("defaultAction", "missing (every profile names its default action)")
    if default not in ACTIONS:
        r.fail("defaultAction", f"unknown action {default!r} (one of {', '.join(ACTIONS)})")
    default_errno = r.errno_of(data, "", "defaultErrnoRet", "defaultErrno")
    if default == "SCMP_ACT_LOG":
        mode = "log"        # @complain: log and allow what no rule decides
    elif default == "SCMP_ACT_ALLOW":
        mode = "allow"
    else:
        mode = "refuse"     # the grammar's default: ERRNO(EPERM)
        if default == "SCMP_ACT_ERRNO" and default_errno != EPERM:
            warn.add("defaultAction", f"SCMP_ACT_ERRNO with {_errno_name(default_errno)}: confine refuses "
                                      "with EPERM (programs that probe for newer syscalls may expect the "
                                      "original errno)")
        elif default != "SCMP_ACT_ERRNO":
            warn.add("defaultAction", f"{default}: confine refuses with EPERM instead ({_WHY[default]})")

    # Architectures: which ones the runtime would filter, by Docker's rules.
    scmp_native, scmp_compat = _ARCH_SCMP[native]
    declared = r.strings(data.get("architectures"), "architectures")
    archmap = r.lst(data.get("archMap"), "archMap")
    if declared and archmap:
        r.fail("archMap", "give either architectures or archMap, not both")
    for i, a in enumerate(declared):
        if a not in SCMP_ARCHES:
            r.fail(f"architectures[{i}]", f"unknown architecture {a!r}")
    for i, m in enumerate(archmap):
        m = r.obj(m, f"archMap[{i}]")
        main = m.get("architecture")
        if main not in SCMP_ARCHES:
            r.fail(f"archMap[{i}].architecture", f"unknown architecture {main!r}")
        subs = r.strings(m.get("subArchitectures"), f"archMap[{i}].subArchitectures")
        for j, s in enumerate(subs):
            if s not in SCMP_ARCHES:
                r.fail(f"archMap[{i}].subArchitectures[{j}]", f"unknown architecture {s!r}")
        if main == scmp_native:
            declared = [main, *subs]
    where_arch = "archMap" if archmap else "architectures"
    if "SCMP_ARCH_X32" in declared:
        # The compiled filter refuses the x32 ABI outright (the thread is killed).
        warn.add(where_arch, "SCMP_ARCH_X32: confine never filters x32 calls, it kills them")
    if scmp_compat and scmp_compat not in declared:
        # The compiler always filters the compat arch with the same rules; the grammar
        # cannot refuse one architecture as a whole.
        warn.add(where_arch, f"{scmp_compat} is not listed (a runtime would refuse those calls): "
                             f"confine applies the same rules to {scmp_compat} calls")
    flags = r.strings(data.get("flags"), "flags")
    if any(f != "SECCOMP_FILTER_FLAG_LOG" for f in flags):
        warn.add("flags", "ignored: confine loads its filters with SECCOMP_FILTER_FLAG_LOG only")

    # The rules that apply here (Docker's includes/excludes), checked.
    syscalls: dict[str, _Syscall] = {}
    for n, raw in enumerate(r.lst(data.get("syscalls"), "syscalls")):
        path = f"syscalls[{n}]"
        raw = r.obj(raw, path)
        entry = _read_entry(r, raw, path)
        if not _applies(r, raw, path, caps, native, kernel_v):
            continue
        for name in entry.names:
            syscalls.setdefault(name, _Syscall(name)).entries.append(entry)

    if mode == "allow":
        lines = _resolve_default_allow(syscalls, warn, native)
    else:
        lines = []
        for sc in syscalls.values():
            lines.extend(_resolve(sc, mode, warn))

    head = [f"# Imported by confine from {file} (OCI seccomp profile)",
            f"# defaultAction {default}" + (f", {_errno_name(default_errno)}" if default == "SCMP_ACT_ERRNO"
                                            else ""),
            f"# arch {native}, kernel {'.'.join(map(str, kernel_v))}, capabilities: "
            + (" ".join(sorted(caps)) or "none")]
    warnings = warn.lines()
    head += [f"# warning: {w}" for w in warnings]
    if mode == "log":
        head.append("@complain")
    seen, body = set(), []
    for line in lines:
        if line not in seen:
            seen.add(line)
            body.append(line)
    text = "\n".join(head + body) + "\n"
    parse(text, file)   # what import writes, the grammar accepts (a failure here is a bug)
    return text, warnings


def _read_entry(r: _Reader, raw: dict, path: str) -> _Entry:
    if raw.get("name") is not None and raw.get("names"):
        r.fail(path, "give either name or names, not both")
    if raw.get("name") is not None:
        if not isinstance(raw["name"], str):
            r.fail(f"{path}.name", f"must be a string, not {_kind(raw['name'])}")
        names = [raw["name"]]
        npath = f"{path}.name"
    else:
        names = r.strings(raw.get("names"), f"{path}.names")
        npath = f"{path}.names"
    if not names:
        r.fail(npath, "a rule names at least one syscall")
    for i, name in enumerate(names):
        if not _SYSCALL_NAME.fullmatch(name):
            r.fail(f"{npath}[{i}]" if npath.endswith("names") else npath,
                   f"{name!r} is not a syscall name (lowercase letters, digits and _)")
    action = raw.get("action")
    if action not in ACTIONS:
        r.fail(f"{path}.action", f"unknown or missing action {action!r} (one of {', '.join(ACTIONS)})")
    err = r.errno_of(raw, path, "errnoRet", "errno") if action == "SCMP_ACT_ERRNO" else None
    conj: dict = {}
    doubled: set[int] = set()
    for j, arg in enumerate(r.lst(raw.get("args"), f"{path}.args")):
        apath = f"{path}.args[{j}]"
        arg = r.obj(arg, apath)
        index = r.uint(arg.get("index"), f"{apath}.index", 5)
        value = r.uint(arg.get("value"), f"{apath}.value", FULL)
        two = r.uint(arg.get("valueTwo", 0) or 0, f"{apath}.valueTwo", FULL)
        op = OPS.get(arg.get("op"))
        if op is None:
            r.fail(f"{apath}.op", f"unknown operator {arg.get('op')!r} (one of {', '.join(OPS)})")
        cond = (op, value, two if op == "MASKED_EQ" else 0)
        if index in conj and conj[index] != cond:
            doubled.add(index)   # libseccomp refuses a rule comparing one argument twice
        conj[index] = cond
    for i in list(conj):
        s = _simplify(conj[i])
        if s is None:
            del conj[i]
        else:
            conj[i] = s
    return _Entry(path, list(dict.fromkeys(names)), action, err, conj, doubled)


def _applies(r: _Reader, raw: dict, path: str, caps, native: str, kernel_v) -> bool:
    """Docker's rule: every include holds (all its caps held, the arch listed, the
    kernel at least minKernel) and no exclude does (any of its caps held, the arch
    listed, the kernel at least minKernel)."""
    verdict = True
    for key in ("includes", "excludes"):
        cpath = f"{path}.{key}"
        cond = r.obj(raw.get(key), cpath, optional=True)
        held = [c in caps for c in r.strings(cond.get("caps"), f"{cpath}.caps")]
        arches = r.strings(cond.get("arches"), f"{cpath}.arches")
        mk = cond.get("minKernel")
        kernel_ok = None
        if mk not in (None, ""):
            need = _kernel_tuple(mk) if isinstance(mk, str) and re.fullmatch(r"[0-9]+(\.[0-9]+){0,2}", mk) else None
            if need is None:
                r.fail(f"{cpath}.minKernel", f"not a kernel version like \"4.8\": {mk!r}")
            kernel_ok = kernel_v >= need
        if key == "includes":
            if (held and not all(held)) or (arches and native not in arches) or kernel_ok is False:
                verdict = False
        else:
            if any(held) or native in arches or kernel_ok is True:
                verdict = False
    return verdict


def _entries_refusing(sc: _Syscall) -> list[_Entry]:
    return [e for e in sc.entries if e.kind == "refuse" and _nonempty(e.conj)]


def _refusal_conj(e: _Entry, warn: _Warnings, name: str) -> dict:
    """The calls a refusing rule refuses, for our purposes: a rule comparing one
    argument twice (which libseccomp refuses) refuses for any value of that argument."""
    if not e.doubled:
        return e.conj
    warn.add(e.path, f"argument {', '.join(map(str, sorted(e.doubled)))} compared twice (libseccomp refuses "
                     "such a rule): refused for any value of it", name)
    return {i: c for i, c in e.conj.items() if i not in e.doubled}


def _resolve(sc: _Syscall, mode: str, warn: _Warnings) -> list[str]:
    """The lines of one syscall under a refusing (EPERM) or logging (@complain) default.

    Our two filters decide: EACCES where a `~` line matches and the allow filter
    would let the call through (the kernel keeps the most restrictive action, and
    on a tie between two ERRNO answers the filter loaded last, the allow filter);
    ALLOW where an allow line matches; else the default. Under @complain a `~`
    line wins over the default's LOG too.
    """
    name = sc.name
    allows: list[_Entry] = []
    for e in sc.entries:
        if not _nonempty(e.conj):
            continue    # a rule no call can meet (e.g. a masked value outside its mask) does nothing
        if e.kind == "allow":
            allows.append(e)
        elif e.kind == "log":
            if mode == "log":
                continue    # the default does the same
            # LOG lets the call through and logs it: allowed, only the log is lost.
            warn.add(e.path, "SCMP_ACT_LOG: allowed without logging (the grammar logs only as a whole, "
                             "with @complain)", name)
            allows.append(e)
    denials: list[str] = []
    denied: list[dict] = []        # what the profile refuses with `~` lines (for relaxing allow rules)
    eacces: list[_Entry] = []      # EACCES refusals: an allow line must reach them (see above)
    refuse_all = False
    for e in _entries_refusing(sc):
        conj = _refusal_conj(e, warn, name)
        clash = [a for a in allows if _overlap(a.conj, conj)]
        if clash:
            warn.add(e.path, f"refuses calls that {_shortlist([a.path for a in clash], 3)} allow"
                             f"{'s' if len(clash) == 1 else ''}: the refusal wins (a runtime's libseccomp would "
                             "pick one by rule order)", name)
        why = _WHY.get(e.action, "")
        # An SCMP_ACT_ERRNO refusal becomes a `~` line answering the same errno
        # (`errno=` unless EACCES); EPERM needs none where no allow rule reaches the
        # calls, the default answers it. Other actions cannot be said: EACCES.
        explicit = e.action == "SCMP_ACT_ERRNO"
        answers = e.errno if explicit and e.errno is not None else EACCES
        if mode == "refuse" and not clash and answers != EACCES and (not explicit or answers == EPERM or conj):
            # No allow rule reaches these calls: the default refuses them already. (A
            # whole syscall keeps its own errno below; with argument conditions that
            # would take an allow rule beside the `~` line, which i386's multiplexed
            # socket calls cannot hold, so EPERM it is.)
            if answers != EPERM:
                warn.add(e.path, f"refused with EPERM (the default) instead of {e.refusal()}"
                                 + (f": {why}" if why else ""), name)
            continue
        line, meant, notes = _deny_line(name, conj, [a.conj for a in allows])
        for note in notes:
            warn.add(e.path, note, name)
        if not meant:
            refuse_all = True
            if mode == "refuse" and (not explicit or answers == EPERM):
                # Refused for every call: dropping its allow rules leaves it to the
                # default (EPERM), exact when the profile said EPERM.
                if not explicit:
                    warn.add(e.path, f"refused with EPERM instead of {e.refusal()}" + (f": {why}" if why else ""),
                             name)
                continue
        if not explicit:
            warn.add(e.path, f"refused with EACCES (an explicit denial) instead of {e.refusal()}"
                             + (f": {why}" if why else ""), name)
        elif mode == "refuse":
            eacces.append(e)
        if answers != EACCES:
            line += f" errno={_errno.errorcode.get(answers, answers)}"
        denials.append(line)
        denied.append(conj)        # the `~` line refuses at least these calls
    if refuse_all:
        # Refused for every call: its allow rules and narrower `~` lines say nothing more
        # (under EPERM, `name` lets the `~name` line answer EACCES: it refuses every call).
        whole = [d for d in denials if d == f"~{name}" or d.startswith(f"~{name} errno=")]
        if not whole:
            return []
        return whole[:1] + ([name] if mode == "refuse" else [])
    # Every allow line is relaxed as far as it stays within what the profile allows
    # or a `~` line refuses anyway: the same decisions, fewer conditions, and what
    # export splits into pieces joins again.
    regions = [a.conj for a in allows if not a.doubled] + denied
    cache: dict = {}
    work = _Work(WORK_PER_SYSCALL)
    lines = list(denials)
    what = "not allowed (refused by the default)" if mode == "refuse" else "logged instead of allowed silently"
    for a in allows:
        if a.doubled:
            warn.add(a.path, f"argument {', '.join(map(str, sorted(a.doubled)))} compared twice (libseccomp "
                             f"refuses such a rule): {what}", name)
            continue
        line = _relaxed(name, a.conj, regions, cache, work)
        exact, why = _allow_line(name, a.conj)
        line = line or exact       # (the search is bounded: an expressible rule stays as it is)
        if line is None:
            warn.add(a.path, f"allowed only under a condition the grammar cannot express ({why}): {what}", name)
            continue
        lines.append(line)
    for e in eacces:
        # Allowing what a `~` line refuses anyway widens nothing and lets it answer EACCES.
        line = _relaxed(name, _refusal_conj(e, _Warnings(), name), regions, cache, work)
        if line is None:
            warn.add(e.path, f"refused with EPERM, not {_errno.errorcode.get(e.errno, e.errno)}, where no rule of "
                             "the profile allows the call", name)
            continue
        lines.append(line)
    return lines


def _wider(name: str, c: Cond) -> list[Cond]:
    """Expressible allow conditions that every value meeting `c` meets (c itself when
    expressible), tightest first."""
    if _allow_token(name, c)[0] is not None:
        return [c]
    op, a, b = c
    out: list[Cond] = []
    if op == "MASKED_EQ" and name not in NEGATIVE_ARG_SYSCALLS:
        # Every such value lies in [b, b | ~a] (exactly that range for a prefix mask)...
        lo, hi = b, b | (FULL ^ a)
        if 0 < lo <= U32_MAX:
            out.append(("GE", lo, 0))
        if hi <= U32_MAX:
            out.append(("LE", hi, 0))
        # ... and has the bits of b within a set.
        ones = a & b & LOW32
        if ones:
            out.append(("MASKED_EQ", ones, ones))
            out.extend(("MASKED_EQ", 1 << i, 1 << i) for i in range(32) if ones >> i & 1 and ones != 1 << i)
    return out


# Coverage checks per syscall (a few hundred for an exported app profile; pathological
# profiles hit the bound and lose only rules the grammar could not say anyway).
WORK_PER_SYSCALL = 20_000


def _relaxed(name: str, conj: dict, regions: list[dict], cache: dict | None = None,
             work: _Work | None = None, budget: int = 2000) -> str | None:
    """The expressible rule with the fewest conditions that allows at least `conj`
    and nothing beyond `regions` (the calls the profile allows, plus those the `~`
    lines refuse whatever we allow), or None. It decides as `conj` would: a rule the
    grammar cannot say is kept when such a rule exists (export writes these when it
    subtracts explicit denials; this brings them back)."""
    options = {i: _wider(name, c) for i, c in conj.items()}
    usable = sorted(i for i in options if options[i])
    for size in range(len(usable) + 1):
        for keep in itertools.combinations(usable, size):
            for conds in itertools.product(*(options[i] for i in keep)):
                budget -= 1
                if budget < 0:
                    return None
                cand = dict(zip(keep, conds))
                key = tuple(sorted(cand.items()))
                covered = cache.get(key) if cache is not None else None
                if covered is None:
                    covered = _covered(cand, regions, work=work)
                    if cache is not None:
                        cache[key] = covered
                if covered:
                    return _allow_line(name, cand)[0]
    return None


def _known_syscalls(native: str) -> list[str]:
    """Every syscall name libseccomp knows on the native arch and its compat arch."""
    from .compiler import _lib

    lib = _lib()
    tokens = {"amd64": (lib.Arch.X86_64, lib.Arch.X86), "arm64": (lib.Arch.AARCH64, lib.Arch.ARM),
              "x86": (lib.Arch.X86,), "arm": (lib.Arch.ARM,), "ppc64le": (lib.Arch.PPC64LE,),
              "s390x": (lib.Arch.S390X,), "riscv64": (lib.Arch.RISCV64,)}[native]
    names: dict[str, None] = {}
    for token in tokens:
        for nr in range(1024):
            try:
                names.setdefault(lib.resolve_syscall(token, nr).decode(), None)
            except ValueError:
                continue
    return sorted(n for n in names if _SYSCALL_NAME.fullmatch(n))


def _resolve_default_allow(syscalls: dict[str, _Syscall], warn: _Warnings, native: str) -> list[str]:
    """A default ALLOW profile: the grammar has no "allow the rest" but @unrestricted,
    which loads no filter at all. With no refusing rule that is exact; otherwise the
    text lists every syscall libseccomp knows and leaves out what is refused."""
    refusing = {n: sc for n, sc in syscalls.items() if _entries_refusing(sc)}
    for sc in syscalls.values():
        for e in sc.entries:
            if e.kind == "log":
                warn.add(e.path, "SCMP_ACT_LOG: allowed without logging", sc.name)
    if not refusing:
        return ["@unrestricted"]
    known = _known_syscalls(native)
    warn.add("defaultAction", f"SCMP_ACT_ALLOW with refusing rules: written as an allow list of the "
                              f"{len(known)} syscalls libseccomp knows here; a syscall it does not know is refused")
    omitted: set[str] = set()
    denials: list[str] = []
    for name, sc in refusing.items():
        for e in _entries_refusing(sc):
            conj = _refusal_conj(e, warn, name)
            line, meant, notes = _deny_line(name, conj, [{}])   # every call is allowed here
            for note in notes:
                warn.add(e.path, note, name)
            why = _WHY.get(e.action, "")
            if not meant and not (e.action == "SCMP_ACT_ERRNO" and e.errno == EACCES):
                omitted.add(name)   # left out of the allow list: refused with EPERM
                if not (e.action == "SCMP_ACT_ERRNO" and e.errno == EPERM):
                    warn.add(e.path, f"refused with EPERM instead of {e.refusal()}" + (f": {why}" if why else ""),
                             name)
                continue
            if not (e.action == "SCMP_ACT_ERRNO" and e.errno == EACCES):
                warn.add(e.path, f"refused with EACCES (an explicit denial) instead of {e.refusal()}"
                                 + (f": {why}" if why else ""), name)
            denials.append(line)
    return [n for n in known if n not in omitted] + denials
