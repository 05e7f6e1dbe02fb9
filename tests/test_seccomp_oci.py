"""OCI seccomp JSON: export of policies, import of Docker/podman profiles.

Decisions are compared with the BPF interpreter (bpf.py) over every syscall number
of both arches (x86_64 and i386) with sampled arguments, between:

- our compiled filters (deny filter, then allow filter) of the imported text;
- the compiled filters after export_oci and a second import;
- the exported JSON built by libseccomp the way runc builds a profile (rules added
  in order, non-exact, rules equal to the default skipped);
- a reference decision computed from the profile's JSON in this file (Docker's
  includes/excludes, then "the most restrictive matching rule wins");
- libseccomp's own build of the podman profile (what a runtime would load): ours
  is never wider, and differs only where import warned of a conflict.

podman's real profile comes from Debian's golang-github-containers-common
(/usr/share/containers/seccomp.json): CI must install that package.
"""
from __future__ import annotations

import errno
import itertools
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from backends.errors import UsageError
from backends.native.seccomp import bpf, compiler, grammar, oci

PODMAN = Path("/usr/share/containers/seccomp.json")
NRS = range(1024)
MAX64 = (1 << 64) - 1
RET_EPERM = bpf.RET_ERRNO | errno.EPERM
RET_EACCES = bpf.RET_ERRNO | errno.EACCES

lib = compiler._lib()
ARCHES = ((bpf.AUDIT_ARCH_X86_64, lib.Arch.X86_64, 64), (bpf.AUDIT_ARCH_I386, lib.Arch.X86, 32))


@pytest.fixture(scope="module")
def podman() -> dict:
    if not PODMAN.is_file():
        pytest.fail(f"{PODMAN} is missing: install Debian's golang-github-containers-common "
                    "(apt-get install -y golang-github-containers-common), which ships podman's profile")
    return json.loads(PODMAN.read_text())


# ---- deciders ----------------------------------------------------------------------------

def ours(policy: grammar.Policy) -> list[bpf.Program]:
    """Our filters in load order (none for @unrestricted)."""
    result = compiler.compile_policy(policy, tree=True)
    if result.unrestricted:
        return []
    return ([bpf.Program(result.deny)] if result.deny else []) + [bpf.Program(result.allow)]


_ACT = {"SCMP_ACT_ALLOW": bpf.RET_ALLOW, "SCMP_ACT_LOG": bpf.RET_LOG, "SCMP_ACT_KILL": bpf.RET_KILL_THREAD,
        "SCMP_ACT_KILL_THREAD": bpf.RET_KILL_THREAD, "SCMP_ACT_KILL_PROCESS": bpf.RET_KILL_PROCESS,
        "SCMP_ACT_TRAP": bpf.RET_TRAP, "SCMP_ACT_NOTIFY": bpf.RET_USER_NOTIF}


def ret_of(action: str, errno_ret=None) -> int:
    if action == "SCMP_ACT_ERRNO":
        return bpf.RET_ERRNO | (errno.EPERM if errno_ret is None else errno_ret)
    if action == "SCMP_ACT_TRACE":
        return bpf.RET_TRACE | (errno_ret or 0)
    return _ACT[action]


def applicable(profile: dict, caps=oci.DOCKER_DEFAULT_CAPS, arch="amd64", kernel=(6, 18)) -> list[dict]:
    """Docker's reading of includes/excludes, written independently of oci.py."""
    def kv(text):
        return tuple(int(x) for x in text.split("."))

    out = []
    for rule in profile.get("syscalls") or []:
        inc, exc = rule.get("includes") or {}, rule.get("excludes") or {}
        if inc.get("caps") and not all(c in caps for c in inc["caps"]):
            continue
        if inc.get("arches") and arch not in inc["arches"]:
            continue
        if inc.get("minKernel") and kernel < kv(inc["minKernel"]):
            continue
        if any(c in caps for c in exc.get("caps") or []) or arch in (exc.get("arches") or []):
            continue
        if exc.get("minKernel") and kernel >= kv(exc["minKernel"]):
            continue
        out.append(rule)
    return out


def runtime_filter(default: int, rules: list[dict]) -> bpf.Program:
    """The profile as runc builds it with libseccomp: both arches, rules in order."""
    flt = compiler._new_filter(default, False)
    for rule in rules:
        action = ret_of(rule["action"], rule.get("errnoRet"))
        if action == default:
            continue
        args = [lib.Arg(a["index"], getattr(lib, a["op"][len("SCMP_CMP_"):]), a["value"], a.get("valueTwo", 0))
                for a in rule.get("args") or []]
        for name in rule["names"]:
            if compiler.resolve(name) == -1:
                continue
            flt.add_rule(action, name, *args)
    return bpf.Program(compiler._export(flt, "export_bpf"))


def exported_runtime(profile: dict) -> bpf.Program:
    return runtime_filter(ret_of(profile["defaultAction"], profile.get("defaultErrnoRet")), profile["syscalls"])


def _precedence(ret: int) -> int:
    act = ret & bpf.ACTION_FULL
    return act - (1 << 32) if act & 0x80000000 else act


def _numbers(token: int) -> dict[str, set[int]]:
    """name -> syscall numbers on an arch. By number, so that the direct socket calls of
    i386 (recvmmsg is 337), which libseccomp resolves by name to a multiplexer pseudo
    number, are found too."""
    out: dict[str, set[int]] = {}
    for nr in NRS:
        try:
            out.setdefault(lib.resolve_syscall(token, nr).decode(), set()).add(nr)
        except ValueError:
            pass
    return out


_NUMBERS = {token: _numbers(token) for _, token, _ in ARCHES}


class Reference:
    """What a profile decides by its JSON: the most restrictive matching rule, else the default."""

    def __init__(self, profile: dict, **kw):
        self.default = ret_of(profile["defaultAction"], profile.get("defaultErrnoRet"))
        self.by_arch: dict[int, dict[int, list]] = {}
        for audit, token, _ in ARCHES:
            table: dict[int, list] = {}
            for rule in applicable(profile, **kw):
                ret = ret_of(rule["action"], rule.get("errnoRet"))
                conds = [(a["index"], a["op"], a["value"], a.get("valueTwo", 0)) for a in rule.get("args") or []]
                for name in rule["names"]:
                    for nr in _NUMBERS[token].get(name, ()):
                        table.setdefault(nr, []).append((conds, ret))
            self.by_arch[audit] = table

    @staticmethod
    def _holds(op, arg, a, b):
        return {"SCMP_CMP_EQ": arg == a, "SCMP_CMP_NE": arg != a, "SCMP_CMP_LT": arg < a,
                "SCMP_CMP_LE": arg <= a, "SCMP_CMP_GT": arg > a, "SCMP_CMP_GE": arg >= a,
                "SCMP_CMP_MASKED_EQ": arg & a == b}[op]

    def run(self, data: bpf.SeccompData) -> int:
        best = None
        for conds, ret in self.by_arch[data.arch].get(data.nr, ()):
            if all(self._holds(op, data.args[i], a, b) for i, op, a, b in conds):
                if best is None or _precedence(ret) < _precedence(best):
                    best = ret
        return self.default if best is None else best


# ---- sampling --------------------------------------------------------------------------

def value_pool(values) -> list[int]:
    pool = {0, 1, 2, 3, 0xFFFFFFFF, MAX64, 1 << 32}
    for v in values:
        for w in (v, v - 1, v + 1, v | 1 << 32, v & 0xFFFFFFFF, (v & 0xFFFFFFFF) | 0xFFFF_0000_0000_0000):
            if 0 <= w <= MAX64:
                pool.add(w)
    return sorted(pool)


def profile_values(profile: dict) -> list[int]:
    return [v for r in profile.get("syscalls") or [] for a in r.get("args") or [] for v in (a["value"],
            a.get("valueTwo", 0), a["value"] & a.get("valueTwo", 0))]


def policy_values(policy: grammar.Policy) -> list[int]:
    return [v for r in policy.rules + policy.denials for c in r.args for v in (c.value, c.mask or 0)]


def samples(nr: int, arch: int, bits: int, progs, pool: list[int]):
    """The zero call, then each argument over the pool, then pairs of the arguments the
    filters look at; arguments the filters never read are left at zero."""
    pool = sorted({v & ((1 << bits) - 1) for v in pool})
    base = bpf.SeccompData(nr, arch)
    touched: set[int] = set()
    for p in progs:
        p.run(base, touched)
    yield base
    if not any(off >= 16 for off in touched):
        return
    singles = []
    for i in range(6):
        for v in pool:
            args = [0] * 6
            args[i] = v
            d = bpf.SeccompData(nr, arch, args=tuple(args))
            for p in progs:
                p.run(d, touched)
            singles.append(d)
    yield from singles
    used = sorted({(off - 16) // 8 for off in touched if off >= 16})
    for i, j in itertools.combinations(used, 2):
        for vi, vj in itertools.product(pool, pool):
            args = [0] * 6
            args[i], args[j] = vi, vj
            yield bpf.SeccompData(nr, arch, args=tuple(args))


def decisions(deciders: dict, pool: list[int], nrs=NRS):
    """Yield (data, {name: return value}) over every syscall number of both arches."""
    for audit, _, bits in ARCHES:
        for nr in nrs:
            progs = [p for d in deciders.values() if isinstance(d, list) for p in d] + \
                    [d for d in deciders.values() if isinstance(d, bpf.Program)]
            for data in samples(nr, audit, bits, progs, pool):
                yield data, {name: (bpf.decide(d, data) if isinstance(d, list) else d.run(data))
                             for name, d in deciders.items()}


def allowed(ret: int) -> bool:
    return ret & bpf.ACTION_FULL in (bpf.RET_ALLOW, bpf.RET_LOG)


def import_policy(profile: dict, **kw) -> tuple[grammar.Policy, str, list[str]]:
    text, warnings = oci.import_oci(profile, **kw)
    return grammar.parse(text, "<imported>"), text, warnings


# ---- the acceptance test: podman's profile ------------------------------------------------

CAP_SETS = {"docker-default": None, "none": frozenset(), "all": oci.CAPABILITIES}


@pytest.mark.parametrize("caps", list(CAP_SETS), ids=list(CAP_SETS))
def test_podman_import_export_decisions_equal(podman, caps):
    cap_set = CAP_SETS[caps]
    policy, text, warnings = import_policy(podman, caps=cap_set, arch="x86_64", kernel="6.18")
    exported = oci.export_oci(policy)
    exported = json.loads(json.dumps(exported))          # plain JSON, nothing Python-only
    again, _, warnings_again = import_policy(exported)
    assert warnings_again == [], "our own export re-imports without losing anything"
    kw = {"caps": oci.DOCKER_DEFAULT_CAPS if cap_set is None else cap_set}
    ref = Reference(podman, **kw)
    runtime = runtime_filter(bpf.RET_ERRNO | errno.ENOSYS, applicable(podman, **kw))
    deciders = {"imported": ours(policy), "reimported": ours(again), "exported": exported_runtime(exported),
                "reference": ref, "runtime": runtime}
    pool = value_pool(profile_values(podman))
    # podman lists setns in its big allow list and refuses it without CAP_SYS_ADMIN
    setns_conflict = any("(setns)" in w and "the refusal wins" in w for w in warnings)
    setns = {lib.resolve_syscall(t, "setns") for _, t, _ in ARCHES}
    count = 0
    for data, got in decisions(deciders, pool):
        count += 1
        mine = got["imported"]
        assert got["reimported"] == mine == got["exported"], (data, {k: bpf.describe(v) for k, v in got.items()})
        ref_ret = got["reference"]
        assert allowed(mine) == allowed(ref_ret), (data, bpf.describe(mine), bpf.describe(ref_ret))
        if not allowed(mine):
            assert mine in (RET_EPERM, RET_EACCES)
            if ref_ret == RET_EACCES:
                assert mine == RET_EACCES
        # Against what a runtime's libseccomp loads: never wider; narrower only where
        # import warned of a conflict between the profile's rules.
        if allowed(mine):
            assert allowed(got["runtime"]), data
        elif allowed(got["runtime"]):
            assert setns_conflict and data.nr in setns, (data, warnings)
    assert count > 2 * len(NRS)
    assert "@complain" not in text and "@unrestricted" not in text


def test_podman_warnings_name_what_is_lost(podman):
    _, text, warnings = import_policy(podman, caps=set(), kernel="6.18")
    joined = "\n".join(warnings)
    assert "defaultAction: SCMP_ACT_ERRNO with errno 38 (ENOSYS)" in joined
    assert "SCMP_ARCH_X32" in joined
    # setns: allowed by the big list, refused without CAP_SYS_ADMIN: the refusal wins
    assert any("setns" in w and "the refusal wins" in w for w in warnings)
    # socket(AF_NETLINK, *, NETLINK_AUDIT) gave EINVAL: now EPERM, still refused
    assert any("socket" in w and "errno 22 (EINVAL)" in w for w in warnings)
    for w in warnings:
        assert f"# warning: {w}" in text


# ---- includes / excludes ------------------------------------------------------------------

def _nr(name, token=lib.Arch.X86_64):
    return lib.resolve_syscall(token, name)


def decide(policy, name, *args, arch=bpf.AUDIT_ARCH_X86_64, token=lib.Arch.X86_64) -> int:
    data = bpf.SeccompData(_nr(name, token), arch, args=tuple(args) + (0,) * (6 - len(args)))
    progs = ours(policy)
    return bpf.decide(progs, data) if progs else bpf.RET_ALLOW


CAPS_PROFILE = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["mount", "umount2", "unshare"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["kcmp"], "action": "SCMP_ACT_ALLOW",
         "includes": {"caps": ["CAP_SYS_ADMIN", "CAP_SYS_PTRACE"]}},
        {"names": ["chroot"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN", "CAP_BPF"]}},
    ],
}


def test_caps_include_and_exclude():
    def allowed_names(caps):
        policy, _, _ = import_policy(CAPS_PROFILE, caps=caps)
        return {r.syscall for r in policy.rules}

    assert allowed_names(None) == {"read", "chroot"}           # Docker's default set
    assert allowed_names({"CAP_SYS_ADMIN"}) == {"read", "mount", "umount2", "unshare"}
    assert allowed_names({"SYS_ADMIN", "cap_sys_ptrace"}) == {"read", "mount", "umount2", "unshare", "kcmp"}
    assert allowed_names({"CAP_BPF"}) == {"read"}
    with pytest.raises(UsageError, match="CAP_SYS_ADMN"):
        oci.import_oci(CAPS_PROFILE, caps={"CAP_SYS_ADMN"})
    assert "CAP_AUDIT_WRITE" in oci.DOCKER_DEFAULT_CAPS and "CAP_SYS_ADMIN" not in oci.DOCKER_DEFAULT_CAPS


def test_podman_caps_gate_real_syscalls(podman):
    default, _, _ = import_policy(podman)
    admin, _, _ = import_policy(podman, caps=oci.DOCKER_DEFAULT_CAPS | {"CAP_SYS_ADMIN", "CAP_SYS_PTRACE"})
    for name in ("bpf", "perf_event_open", "setns", "kcmp"):
        assert decide(default, name) == RET_EPERM, name
        assert decide(admin, name) == bpf.RET_ALLOW, name
    assert decide(default, "chroot") == bpf.RET_ALLOW      # CAP_SYS_CHROOT is a Docker default
    none, _, _ = import_policy(podman, caps=set())
    assert decide(none, "chroot") == RET_EPERM
    # without CAP_AUDIT_WRITE, socket(AF_NETLINK, *, NETLINK_AUDIT) is refused, the rest allowed
    assert decide(none, "socket", 16, 3, 9) == RET_EPERM
    assert decide(none, "socket", 16, 3, 0) == bpf.RET_ALLOW
    assert decide(none, "socket", 2, 1, 9) == bpf.RET_ALLOW
    assert decide(default, "socket", 16, 3, 9) == bpf.RET_ALLOW


ARCH_PROFILE = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
    "syscalls": [
        {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
        {"names": ["cacheflush"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm", "arm64"]}},
        {"names": ["iopl"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}},
    ],
}


def test_arches_include_and_exclude():
    def names(arch):
        text, _ = oci.import_oci(ARCH_PROFILE, arch=arch)
        return {r.syscall for r in grammar.parse(text).rules}

    assert names("x86_64") == names("amd64") == {"arch_prctl"}
    assert names("aarch64") == {"cacheflush", "iopl"}
    with pytest.raises(UsageError):
        oci.import_oci(ARCH_PROFILE, arch="x32")


def test_arch_warnings():
    _, warnings = oci.import_oci({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"]})
    assert any("SCMP_ARCH_X86 is not listed" in w for w in warnings)
    _, warnings = oci.import_oci({"defaultAction": "SCMP_ACT_ERRNO",
                                  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]})
    assert warnings == []


KERNEL_PROFILE = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "syscalls": [
        {"names": ["pidfd_getfd"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "5.6"}},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "excludes": {"minKernel": "5.3"}},
        {"names": ["clone3"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "5.3"}},
    ],
}


def test_min_kernel():
    def names(kernel):
        text, _ = oci.import_oci(KERNEL_PROFILE, kernel=kernel)
        return {r.syscall for r in grammar.parse(text).rules}

    assert names("5.4.0-100-generic") == {"clone3"}
    assert names("5.6") == names("6.18.0") == {"pidfd_getfd", "clone3"}
    # before 5.3 the profile answers clone3 with ENOSYS: a `~` line saying so, and the
    # allow line that lets it answer (the allow filter's EPERM would win otherwise)
    for old in ("5.2.21", "4.19"):
        text, warnings = oci.import_oci(KERNEL_PROFILE, kernel=old)
        policy = grammar.parse(text)
        assert not [w for w in warnings if "clone3" in w] and {r.syscall for r in policy.rules} == {"clone3"}
        assert [(r.syscall, r.args, r.errno) for r in policy.denials] == [("clone3", (), errno.ENOSYS)]
    assert names(None) == {"pidfd_getfd", "clone3"}     # this kernel (6.x)
    bad = {"defaultAction": "SCMP_ACT_ERRNO",
           "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "five"}}]}
    with pytest.raises(oci.OCIError, match=r"syscalls\[0\]\.includes\.minKernel"):
        oci.import_oci(bad)


# ---- what the grammar cannot say: warned, never widened ---------------------------------

UNSUPPORTED = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
    "syscalls": [
        {"names": ["getpid"], "action": "SCMP_ACT_NOTIFY"},
        {"names": ["getppid"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
        {"names": ["gettid"], "action": "SCMP_ACT_KILL_PROCESS"},
        {"names": ["read"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 255, "valueTwo": 3, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["write"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 2, "value": 1 << 40, "valueTwo": 0, "op": "SCMP_CMP_LT"}]},
        {"names": ["setuid"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 0, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
        {"names": ["close"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 3, "op": "SCMP_CMP_GE"}, {"index": 0, "value": 10, "op": "SCMP_CMP_LE"}]},
        {"names": ["ioctl"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
         "args": [{"index": 1, "value": 0x5412, "op": "SCMP_CMP_EQ"}]},
        {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22},
        {"names": ["getuid"], "action": "SCMP_ACT_LOG"},
        {"names": ["notify_allowed"], "action": "SCMP_ACT_NOTIFY"},
    ],
}


def test_unsupported_actions_and_conditions_warned_and_never_allowed():
    policy, text, warnings = import_policy(UNSUPPORTED)
    joined = "\n".join(warnings)
    for path, words in (("syscalls[0]", "SCMP_ACT_NOTIFY"), ("syscalls[1]", "SCMP_ACT_TRACE"),
                        ("syscalls[2]", "SCMP_ACT_KILL_PROCESS"), ("syscalls[3]", "masked comparison"),
                        ("syscalls[4]", "over 32 bits"), ("syscalls[5]", "low 32 bits"),
                        ("syscalls[6]", "compared twice"), ("syscalls[8]", "the refusal wins"),
                        ("syscalls[10]", "without logging")):
        assert any(w.startswith(path) and words in w for w in warnings), (path, words, joined)
    # an ERRNO refusal of a whole syscall keeps its errno, through `errno=`: nothing lost
    assert not any(w.startswith("syscalls[9]") for w in warnings), joined
    assert "~kill errno=EINVAL" in text.splitlines()
    for name in ("getpid", "getppid", "gettid", "read", "write", "setuid", "close", "kill"):
        for args in ((0,), (3,), (4,), (7,), (1 << 32,), (3, 0, 5), (0, 0, 1 << 41)):
            assert not allowed(decide(policy, name, *args)), (name, args)
    assert decide(policy, "getuid") == bpf.RET_ALLOW
    assert decide(policy, "ioctl", 0, 0x5413) == bpf.RET_ALLOW
    assert decide(policy, "ioctl", 0, 0x5412) == RET_EPERM           # the denial won the conflict, with its errno
    assert decide(policy, "ioctl", 0, 0x1_0000_5412) == RET_EPERM    # and it reads the low 32 bits
    assert "~ioctl - 21522" in text


def _random_cond(rng: random.Random) -> dict:
    op = rng.choice(list(oci.OPS))
    interesting = [0, 1, 2, 3, 8, 9, 16, 0x5412, 0xFFFFFFFF, 1 << 32, (1 << 32) | 3, MAX64]
    value = rng.choice(interesting)
    two = rng.choice(interesting) if op == "SCMP_CMP_MASKED_EQ" else 0
    if op == "SCMP_CMP_MASKED_EQ" and rng.random() < 0.5:
        two = value & rng.choice(interesting)
    if op == "SCMP_CMP_MASKED_EQ" and rng.random() < 0.3:
        two = value
    return {"index": rng.randrange(3), "value": value, "valueTwo": two, "op": op}


@pytest.mark.parametrize("default", ["SCMP_ACT_ERRNO", "SCMP_ACT_LOG", "SCMP_ACT_ALLOW", "SCMP_ACT_KILL"])
def test_random_profiles_never_widen(default):
    """Random rules over a few syscalls, every action: what ours allows, the profile allows."""
    rng = random.Random(f"oci-{default}")
    names = ["read", "write", "ioctl", "socket", "setuid"]
    actions = ["SCMP_ACT_ALLOW"] * 4 + ["SCMP_ACT_ERRNO", "SCMP_ACT_LOG", "SCMP_ACT_KILL", "SCMP_ACT_TRAP",
                                        "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE"]
    for _ in range(25):
        rules = []
        for _ in range(rng.randrange(1, 7)):
            rule = {"names": rng.sample(names, rng.randrange(1, 3)), "action": rng.choice(actions),
                    "args": [_random_cond(rng) for _ in range(rng.choice([0, 0, 1, 1, 2]))]}
            if rule["action"] == "SCMP_ACT_ERRNO":
                rule["errnoRet"] = rng.choice([1, 13, 22])
            rules.append(rule)
        profile = {"defaultAction": default, "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
                   "syscalls": rules}
        policy, text, _ = import_policy(profile)
        ref = Reference(profile)
        pool = value_pool(profile_values(profile))
        nrs = sorted({lib.resolve_syscall(t, n) for _, t, _ in ARCHES for n in names} - {-1})
        mine = ours(policy)
        for data, got in decisions({"ours": mine, "ref": ref}, pool, nrs=[n for n in nrs if n >= 0]):
            if allowed(got["ours"]):
                assert allowed(got["ref"]), (data, text, profile)
            # refusals answer an errno (the profile's own, where the grammar can say it)
            assert got["ours"] in (bpf.RET_ALLOW, bpf.RET_LOG) or bpf.action(got["ours"]) == bpf.RET_ERRNO


# ---- default actions -------------------------------------------------------------------

def test_default_log_is_complain():
    policy, text, warnings = import_policy({"defaultAction": "SCMP_ACT_LOG",
                                            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
                                            "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_ERRNO"},
                                                         {"names": ["read"], "action": "SCMP_ACT_ALLOW"}]})
    assert policy.complain and "@complain" in text
    assert decide(policy, "getpid") == bpf.RET_LOG
    assert decide(policy, "read") == bpf.RET_ALLOW
    # a refusal under a logging default must stay a refusal, with its errno (EPERM when not given)
    assert decide(policy, "ptrace") == RET_EPERM
    assert "~ptrace errno=EPERM" in text.splitlines() and not any("ptrace" in w for w in warnings)


def test_default_allow():
    text, warnings = oci.import_oci({"defaultAction": "SCMP_ACT_ALLOW",
                                     "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]})
    assert grammar.parse(text).unrestricted
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
               "syscalls": [
                   {"names": ["ptrace", "kexec_load"], "action": "SCMP_ACT_ERRNO"},
                   {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
                    "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"}]},
                   {"names": ["personality"], "action": "SCMP_ACT_KILL",
                    "args": [{"index": 0, "value": 0xFF, "valueTwo": 8, "op": "SCMP_CMP_MASKED_EQ"}]},
               ]}
    policy, text, warnings = import_policy(profile)
    assert not policy.unrestricted and not policy.complain
    assert decide(policy, "getpid") == decide(policy, "read") == bpf.RET_ALLOW
    assert decide(policy, "ptrace") == decide(policy, "kexec_load") == RET_EPERM
    assert decide(policy, "socket", 16, 1) == RET_EACCES
    assert decide(policy, "socket", 2, 1) == bpf.RET_ALLOW
    # a refusal under a condition the grammar cannot say (arg & 0xff == 8) refuses more
    # values (here: >= 8), never fewer
    for value in (8, 0x108, 0xFF08, 1 << 32 | 8):
        assert decide(policy, "personality", value) == RET_EACCES
    assert decide(policy, "personality", 0) == bpf.RET_ALLOW
    assert any("syscalls[2]" in w and "refused for more values" in w for w in warnings)
    assert any(w.startswith("defaultAction: SCMP_ACT_ALLOW") for w in warnings)
    assert decide(policy, "getpid", arch=bpf.AUDIT_ARCH_I386, token=lib.Arch.X86) == bpf.RET_ALLOW
    assert decide(policy, "ptrace", arch=bpf.AUDIT_ARCH_I386, token=lib.Arch.X86) == RET_EPERM


def test_default_kill_becomes_eperm():
    policy, _, warnings = import_policy({"defaultAction": "SCMP_ACT_KILL_PROCESS",
                                         "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
                                         "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]})
    assert decide(policy, "getpid") == RET_EPERM and decide(policy, "read") == bpf.RET_ALLOW
    assert warnings == ["defaultAction: SCMP_ACT_KILL_PROCESS: confine refuses with EPERM instead "
                        "(the grammar cannot kill)"]


# ---- export ------------------------------------------------------------------------------

def _check_shape(data: dict) -> None:
    assert set(data) >= {"defaultAction", "architectures", "syscalls"}
    assert data["defaultAction"] in oci.ACTIONS
    assert data["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]
    for rule in data["syscalls"]:
        assert rule["names"] and all(isinstance(n, str) for n in rule["names"])
        assert rule["action"] in ("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO")
        if rule["action"] == "SCMP_ACT_ERRNO":
            assert rule["errnoRet"] in (errno.EACCES, errno.ENOSYS)     # ENOSYS: clone3 (see the template)
        for arg in rule.get("args", []):
            assert set(arg) == {"index", "value", "valueTwo", "op"}
            assert 0 <= arg["index"] <= 5 and arg["op"] in oci.OPS
            assert 0 <= arg["value"] <= MAX64 and 0 <= arg["valueTwo"] <= MAX64


def _distinct_sources(tmp_path, count=4) -> dict[str, str]:
    from tests.seccomp_support import all_example_sources

    sources = all_example_sources(tmp_path)
    # the apps with the most argument conditions first, one per distinct text
    ranked = sorted(sources.items(), key=lambda kv: -sum(" " in ln for ln in kv[1].splitlines()))
    out, seen = {}, set()
    for tag, text in ranked:
        if text not in seen:
            seen.add(text)
            out[tag] = text
        if len(out) == count:
            break
    return out


def test_export_example_apps_round_trip(tmp_path):
    for tag, text in _distinct_sources(tmp_path).items():
        policy = grammar.parse(text, tag)
        assert policy.denials, "the template denies TIOCSTI and TIOCLINUX"
        data = json.loads(json.dumps(oci.export_oci(policy)))
        _check_shape(data)
        assert data["defaultAction"] == "SCMP_ACT_ERRNO" and data["defaultErrnoRet"] == errno.EPERM
        n_deny = sum(r["action"] == "SCMP_ACT_ERRNO" for r in data["syscalls"])
        assert n_deny and all(r["action"] == "SCMP_ACT_ERRNO" for r in data["syscalls"][:n_deny]), \
            "explicit denials come first"
        again, _, warnings = import_policy(data)
        assert warnings == []
        pool = value_pool(policy_values(policy) + [0x5412, 0x541C])
        deciders = {"policy": ours(policy), "exported": exported_runtime(data), "reimported": ours(again)}
        for sample, got in decisions(deciders, pool):
            assert got["policy"] == got["exported"] == got["reimported"], \
                (tag, sample, {k: bpf.describe(v) for k, v in got.items()})


def test_export_tiocsti_is_refused_by_a_runtime():
    policy = grammar.parse("ioctl\n~ioctl - TIOCSTI\n~ioctl - TIOCLINUX\nsetuid 0\n~ptrace 16 - 9\nptrace\n")
    notes: list[str] = []
    data = oci.export_oci(policy, notes)
    assert notes == []
    assert [r["names"] for r in data["syscalls"][:3]] == [["ioctl"], ["ioctl"], ["ptrace"]]
    assert data["syscalls"][0]["args"] == [{"index": 1, "value": 0xFFFFFFFF, "valueTwo": 0x5412,
                                            "op": "SCMP_CMP_MASKED_EQ"}]
    runtime = exported_runtime(data)
    for request, want in ((0x5412, RET_EACCES), (0x1_0000_5412, RET_EACCES), (0x541C, RET_EACCES),
                          (0x5413, bpf.RET_ALLOW), (0, bpf.RET_ALLOW)):
        assert runtime.run(bpf.SeccompData(_nr("ioctl"), args=(0, request, 0, 0, 0, 0))) == want
    setuid = _nr("setuid")
    assert runtime.run(bpf.SeccompData(setuid, args=(1 << 32, 0, 0, 0, 0, 0))) == bpf.RET_ALLOW
    assert runtime.run(bpf.SeccompData(setuid, args=(1, 0, 0, 0, 0, 0))) == RET_EPERM
    ptrace = _nr("ptrace")
    assert runtime.run(bpf.SeccompData(ptrace, args=(16, 3, 9, 0, 0, 0))) == RET_EACCES
    assert runtime.run(bpf.SeccompData(ptrace, args=(1 << 32 | 16, 3, 9, 0, 0, 0))) == RET_EACCES
    assert runtime.run(bpf.SeccompData(ptrace, args=(16, 3, 8, 0, 0, 0))) == bpf.RET_ALLOW
    pool = value_pool(policy_values(policy))
    for sample, got in decisions({"policy": ours(policy), "exported": runtime}, pool):
        assert got["policy"] == got["exported"], sample


def test_export_multiplexed_socket_denial_is_narrowed_with_a_note():
    """libseccomp cannot hold socket allow rules and conditional socket denials in one
    filter on i386 (socketcall): the export refuses socket outright, and says so."""
    policy = grammar.parse("socket AF_INET\nsocket AF_NETLINK\n~socket AF_NETLINK - 9\nbind\n~bind 3\n"
                           "ioctl\n~ioctl - TIOCSTI\n")
    notes: list[str] = []
    data = oci.export_oci(policy, notes)
    assert [n.split(":")[0] for n in notes] == ["bind", "socket"]
    runtime = exported_runtime(data)          # loads: no EEXIST
    mine = ours(policy)
    for sample, got in decisions({"policy": mine, "exported": runtime}, value_pool(policy_values(policy))):
        if allowed(got["exported"]):
            assert got["exported"] == got["policy"], sample
    assert decide(policy, "socket", 2) == bpf.RET_ALLOW
    assert runtime.run(bpf.SeccompData(_nr("socket"), args=(2, 0, 0, 0, 0, 0))) == RET_EACCES


def test_export_unrestricted_and_complain():
    data = oci.export_oci(grammar.parse("@unrestricted\nread\n"))
    assert data["defaultAction"] == "SCMP_ACT_ALLOW" and data["syscalls"] == []
    _check_shape(data)
    assert grammar.parse(oci.import_oci(data)[0]).unrestricted
    data = oci.export_oci(grammar.parse("@complain\nread\n~ptrace\n"))
    assert data["defaultAction"] == "SCMP_ACT_LOG" and "defaultErrnoRet" not in data
    assert data["syscalls"][0] == {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}
    policy, _, warnings = import_policy(data)
    assert warnings == [] and policy.complain
    assert decide(policy, "ptrace") == RET_EACCES and decide(policy, "getpid") == bpf.RET_LOG


def test_set_algebra_against_brute_force():
    """_subtract and _intersect1 (what export's non-overlapping rules rest on) against
    evaluation on sample points."""
    rng = random.Random("algebra")
    pts = value_pool([0x5412, 0x541C, 8, 16, 1 << 40])

    def rand_cond():
        c = _random_cond(rng)
        op = oci.OPS[c["op"]]
        return (op, c["value"], c["valueTwo"] if op == "MASKED_EQ" else 0)

    for _ in range(400):
        p = {rng.randrange(2): rand_cond() for _ in range(rng.randrange(3))}
        d = {rng.randrange(2): rand_cond() for _ in range(rng.randrange(1, 3))}
        pieces = oci._subtract(p, d)
        for x in pts:
            for y in (0, 0x5412, 1 << 33):
                args = {0: x, 1: y}

                def meets(conj):
                    return all(oci._holds(c, args[i]) for i, c in conj.items())
                assert any(meets(q) for q in pieces) == (meets(p) and not meets(d)), (p, d, args)
        a, b = rand_cond(), rand_cond()
        inter = oci._intersect1(a, b)
        for x in pts:
            assert any(oci._holds(c, x) for c in inter) == (oci._holds(a, x) and oci._holds(b, x)), (a, b, x)
        assert oci._sat([a, b]) == bool(inter)


# ---- errors --------------------------------------------------------------------------------

@pytest.mark.parametrize("profile, path", [
    ({}, "defaultAction"),
    ({"defaultAction": "SCMP_ACT_ALLOWED"}, "defaultAction"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": {}}, "syscalls"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"]}]}, r"syscalls\[0\]\.action"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["Read"], "action": "SCMP_ACT_ALLOW"}]},
     r"syscalls\[0\]\.names\[0\]"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": [], "action": "SCMP_ACT_ALLOW"}]},
     r"syscalls\[0\]\.names"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_XX"}]}]},
     r"syscalls\[0\]\.args\[0\]\.op"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]},
     r"syscalls\[0\]\.args\[0\]\.index"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}]},
     r"syscalls\[0\]\.args\[0\]\.value"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ERRNO", "errno": "ENOTANERRNO"}]}, r"syscalls\[0\]\.errno"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
      "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}, "archMap"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_VAX"]}, r"architectures\[0\]"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": "CAP_SYS_ADMIN"}}]},
     r"syscalls\[0\]\.includes\.caps"),
])
def test_bad_profiles_name_file_and_field(profile, path):
    with pytest.raises(oci.OCIError, match=rf"^prof\.json: {path}: "):
        oci.import_oci(profile, file="prof.json")


def test_errno_by_name_and_legacy_name():
    text, warnings = oci.import_oci({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrno": "EPERM",
                                     "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
                                     "syscalls": [{"name": "read", "action": "SCMP_ACT_ALLOW"},
                                                  {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO",
                                                   "errno": "EACCES"}]})
    assert warnings == []
    policy = grammar.parse(text)
    # EACCES kept exactly: a `~` line, and an allow line so that it answers (the
    # allow filter's EPERM would win the tie otherwise)
    assert sorted(r.syscall for r in policy.rules) == ["ptrace", "read"]
    assert [r.syscall for r in policy.denials] == ["ptrace"]
    assert decide(policy, "ptrace") == RET_EACCES and decide(policy, "getpid") == RET_EPERM


# ---- CLI -----------------------------------------------------------------------------------

def confine(root, *args):
    return subprocess.run([sys.executable, "-m", "backends.cli", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def examples_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("oci") / "root"
    proc = confine(root, "install", "--examples")
    assert proc.returncode == 0, proc.stderr
    return root


def test_cli_export_oci(examples_root):
    proc = confine(examples_root, "seccomp", "export-oci", "hello.hello")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    _check_shape(data)
    shown = confine(examples_root, "profile", "hello.hello", "--kind", "seccomp").stdout
    assert data == json.loads(json.dumps(oci.export_oci(grammar.parse(shown))))
    proc = confine(examples_root, "seccomp", "export-oci", "hello.nosuchapp")
    assert proc.returncode == 1 and "nosuchapp" in proc.stderr and "Traceback" not in proc.stderr
    proc = confine(examples_root, "seccomp", "export-oci", "nosuchsnap.app")
    assert proc.returncode == 1 and "nosuchsnap" in proc.stderr


def test_cli_import_oci(examples_root, tmp_path, podman):
    out = tmp_path / "podman.src"
    proc = confine(examples_root, "seccomp", "import-oci", str(PODMAN), str(out))
    assert proc.returncode == 0, proc.stderr
    assert "ENOSYS" in proc.stderr and "warning:" in proc.stderr
    assert out.read_text() == oci.import_oci(podman, file=str(PODMAN))[0]
    compiled = tmp_path / "podman.bpf"
    proc = confine(examples_root, "seccomp", "compile", str(out), str(compiled))
    assert proc.returncode == 0, proc.stderr
    proc = confine(examples_root, "seccomp", "import-oci", str(PODMAN), str(out), "--caps", "CAP_SYS_ADMIN",
                   "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["output"] == str(out) and report["warnings"]
    assert any(r.syscall == "bpf" for r in grammar.parse(out.read_text()).rules)
    # the round trip through both commands
    exported = tmp_path / "hello.json"
    exported.write_text(confine(examples_root, "seccomp", "export-oci", "hello.hello").stdout)
    proc = confine(examples_root, "seccomp", "import-oci", str(exported), str(tmp_path / "hello.src"))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_cli_import_oci_errors(examples_root, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"defaultAction": "SCMP_ACT_ERRNO",\n "syscalls": [{"names": ["read"], "action": 7}]}')
    out = tmp_path / "out.src"
    proc = confine(examples_root, "seccomp", "import-oci", str(bad), str(out))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{bad}: syscalls[0].action:" in proc.stderr
    assert not out.exists()
    bad.write_text('{"defaultAction": "SCMP_ACT_ERRNO",,}')
    proc = confine(examples_root, "seccomp", "import-oci", str(bad), str(out))
    assert proc.returncode == 1 and f"{bad}:1:" in proc.stderr and not out.exists()
    proc = confine(examples_root, "seccomp", "import-oci", str(tmp_path / "missing.json"), str(out))
    assert proc.returncode == 1 and "missing.json" in proc.stderr
    bad.write_text('{"defaultAction": "SCMP_ACT_ERRNO"}')
    proc = confine(examples_root, "seccomp", "import-oci", str(bad), str(out), "--caps", "CAP_NOPE")
    assert proc.returncode == 2 and "CAP_NOPE" in proc.stderr
