"""The BPF interpreter, and the proof that the binary-tree filters decide like the linear ones.

For every syscall number of both arches (x86-64 and i386), plus the x32 range and
stray numbers and arches, the tree and linear layouts of a policy must return the
same value. Numbers whose filters read the arguments are tried with arguments
sampled around every value the policy compares against (both sides of each
boundary, with and without high bits) and at random.
"""
from __future__ import annotations

import random
import struct

import pytest

from backends.native.seccomp import bpf, compiler, grammar, template
from backends.native.seccomp.bpf import AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, BPFError, Program, SeccompData
from seccomp_support import all_example_sources

U64 = (1 << 64) - 1


def prog(*insns: tuple[int, int, int, int]) -> bytes:
    return b"".join(struct.pack("=HBBI", *i) for i in insns)


RET_K, RET_A, LD_ABS, LD_IMM, LD_MEM, LD_LEN, LDX_IMM, LDX_MEM, ST, STX = (
    0x06, 0x16, 0x20, 0x00, 0x60, 0x80, 0x01, 0x61, 0x02, 0x03)
JA, JEQ_K, JGT_K, JGE_K, JSET_K, JEQ_X = 0x05, 0x15, 0x25, 0x35, 0x45, 0x1D
ADD_K, SUB_K, MUL_K, DIV_K, OR_K, AND_K, LSH_K, RSH_K, NEG, MOD_K, XOR_K, ADD_X = (
    0x04, 0x14, 0x24, 0x34, 0x44, 0x54, 0x64, 0x74, 0x84, 0x94, 0xA4, 0x0C)
TAX, TXA = 0x07, 0x87


# ---- the interpreter -----------------------------------------------------------------

def test_reads_the_fields_of_seccomp_data():
    data = SeccompData(0x1234, AUDIT_ARCH_I386, 0xAABBCCDD11223344, (1, 2, 3, 4, 5, 0x600000007))
    for offset, want in ((0, 0x1234), (4, AUDIT_ARCH_I386), (8, 0x11223344), (12, 0xAABBCCDD), (16, 1), (20, 0),
                         (56, 7), (60, 6)):
        assert bpf.run(prog((LD_ABS, 0, 0, offset), (RET_A, 0, 0, 0)), data) == want
    assert SeccompData(-1).words()[0] == 0xFFFFFFFF


@pytest.mark.parametrize("op, k, a, want", [
    (ADD_K, 5, 0xFFFFFFFE, 3), (SUB_K, 5, 3, 0xFFFFFFFE), (MUL_K, 0x10000, 0x10000, 0), (DIV_K, 3, 10, 3),
    (OR_K, 0xF0, 0x0F, 0xFF), (AND_K, 0xF0, 0xFF, 0xF0), (LSH_K, 4, 0x1000_0001, 0x10), (RSH_K, 4, 0xF0, 0x0F),
    (MOD_K, 7, 23, 2), (XOR_K, 0xFF, 0x0F, 0xF0), (NEG, 0, 1, 0xFFFFFFFF),
])
def test_alu(op, k, a, want):
    assert bpf.run(prog((LD_IMM, 0, 0, a), (op, 0, 0, k), (RET_A, 0, 0, 0)), SeccompData(0)) == want


def test_division_by_zero_kills():
    assert bpf.run(prog((LD_IMM, 0, 0, 1), (DIV_K, 0, 0, 0), (RET_A, 0, 0, 0)), SeccompData(0)) == 0


def test_jumps_memory_and_registers():
    p = prog((LD_ABS, 0, 0, 0),            # 0: a = nr
             (JEQ_K, 0, 2, 7),             # 1: nr == 7 ?
             (ST, 0, 0, 3),                # 2: M[3] = a
             (JA, 0, 0, 2),                # 3: -> 6
             (LD_IMM, 0, 0, 9),            # 4: a = 9
             (JA, 0, 0, 2),                # 5: -> 8
             (LDX_MEM, 0, 0, 3),           # 6: x = M[3]
             (TXA, 0, 0, 0),               # 7: a = x
             (JSET_K, 0, 1, 0x8),          # 8: a & 8 ?
             (RET_K, 0, 0, bpf.RET_ALLOW), # 9
             (TAX, 0, 0, 0),               # 10: x = a
             (LD_LEN, 0, 0, 0),            # 11: a = 64
             (ADD_X, 0, 0, 0),             # 12: a += x
             (RET_A, 0, 0, 0))             # 13
    assert bpf.run(p, SeccompData(7)) == 71           # 7 -> M[3] -> x -> a=7, no bit 8 -> 64 + 7
    assert bpf.run(p, SeccompData(5)) == bpf.RET_ALLOW  # a = 9 has bit 8
    assert bpf.run(prog((LD_ABS, 0, 0, 0), (JGT_K, 0, 1, 5), (RET_K, 0, 0, 1), (JGE_K, 1, 0, 5),
                        (RET_K, 0, 0, 2), (RET_K, 0, 0, 3)), SeccompData(5)) == 3
    assert bpf.run(prog((LDX_IMM, 0, 0, 4), (LD_IMM, 0, 0, 4), (JEQ_X, 0, 1, 0), (RET_K, 0, 0, 1),
                        (RET_K, 0, 0, 2)), SeccompData(0)) == 1
    assert bpf.run(prog((LD_IMM, 0, 0, 5), (STX, 0, 0, 0), (LD_MEM, 0, 0, 0), (RET_A, 0, 0, 0)),
                   SeccompData(0)) == 0  # x was 0 when stored


@pytest.mark.parametrize("bad, why", [
    (b"", "1 to 4096"),
    (b"\x06\x00\x00\x00\x00\x00\xff", "whole number"),
    (prog((JA, 0, 0, 1), (RET_K, 0, 0, 0)), "past the end"),
    (prog((JEQ_K, 5, 0, 0), (RET_K, 0, 0, 0)), "past the end"),
    (prog((LD_ABS, 0, 0, 2), (RET_A, 0, 0, 0)), "aligned"),
    (prog((LD_ABS, 0, 0, 64), (RET_A, 0, 0, 0)), "aligned"),
    (prog((LD_MEM, 0, 0, 16), (RET_A, 0, 0, 0)), "scratch memory"),
    (prog((0x40, 0, 0, 0), (RET_A, 0, 0, 0)), "not allowed"),
    (prog((LD_IMM, 0, 0, 0),), "end in a return"),
    (prog((RET_K, 0, 0, 0),) * 4097, "1 to 4096"),
])
def test_programs_the_kernel_would_refuse(bad, why):
    with pytest.raises(BPFError, match=why):
        Program(bad)


def test_describe_and_combine_follow_the_kernel():
    assert [bpf.describe(v) for v in (0x7FFF0000, 0x7FFC0000, 0x00050001, 0x0005000D, 0, 0x80000000, 0x00030000,
                                      0x7FF00005, 0x7FC00000, 0x12340000)] == [
        "allow", "log", "errno(1)", "errno(13)", "kill_thread", "kill_process", "trap", "trace(5)", "user_notif",
        "unknown(0x12340000)"]
    order = [0x80000000, 0, 0x00030000, 0x00050001, 0x7FC00000, 0x7FF00000, 0x7FFC0000, 0x7FFF0000]
    for i, stronger in enumerate(order):
        for weaker in order[i + 1:]:
            assert bpf.combine([stronger, weaker]) == stronger
            assert bpf.combine([weaker, stronger]) == stronger
    # same action: the filter loaded last answers
    assert bpf.combine([0x0005000D, 0x00050001]) == 0x00050001
    assert bpf.combine([]) == bpf.RET_ALLOW


def test_disassemble_names_fields_and_actions():
    result = compiler.compile_policy(grammar.parse("read\nsocket AF_UNIX\n~ioctl - TIOCSTI"))
    text = bpf.disassemble(result.allow)
    assert "; arch" in text and "; nr" in text and "args[0].lo" in text and "errno(1)" in text
    assert "kill_thread" in text and len(text.splitlines()) == len(result.allow) // 8
    assert "errno(13)" in bpf.disassemble(result.deny)


def test_the_interpreter_reads_firejails_filters_if_present():
    import glob
    for path in glob.glob("/usr/lib/x86_64-linux-gnu/firejail/*.bpf")[:5]:  # handy real-world fixtures
        data = open(path, "rb").read()
        if data and len(data) % 8 == 0:
            p = Program(data)
            assert bpf.describe(p.run(SeccompData(0))) != ""


# ---- tree versus linear -----------------------------------------------------------------

X86_64_NRS = list(range(0, 560)) + [1024, 0x3FFFFFFF]
X32_NRS = [bpf.X32_SYSCALL_BIT | n for n in range(0, 560)] + [0x40000000 + 0x3FFF, 0x7FFFFFFF]
I386_NRS = list(range(0, 560)) + [1024]
STRAY = [(AUDIT_ARCH_X86_64, -1), (AUDIT_ARCH_X86_64, 0xFFFFFFFE), (AUDIT_ARCH_I386, -1),
         (0xC00000B7, 63), (0x40000028, 3), (0, 0), (0xFFFFFFFF, 1)]


def _boundary_values(policy: grammar.Policy) -> list[int]:
    values = {0, 1, 0xFFFFFFFF, 0x100000000, U64, 0x80000000}
    for rule in policy.rules + policy.denials:
        for c in rule.args:
            for v in (c.value, c.value - 1, c.value + 1, c.mask or 0, (c.mask or 0) ^ c.value):
                values |= {v & U64, (v | 1 << 32) & U64, (v | 0xFFFFFFFF00000000) & U64}
    return sorted(values)


def _tuples_for(policy: grammar.Policy, rng: random.Random) -> list[tuple[int, ...]]:
    """Argument tuples that satisfy each rule, each mutated one argument at a time, and random ones."""
    out = [(0,) * 6, (U64,) * 6]
    for rule in policy.rules + policy.denials:
        if not rule.args:
            continue
        base = [0] * 6
        for c in rule.args:
            base[c.index] = {"EQ": c.value, "NE": c.value + 1, "LT": max(c.value - 1, 0), "LE": c.value,
                             "GT": c.value + 1, "GE": c.value, "MASKED_EQ": c.value}[c.op]
        out.append(tuple(base))
        for c in rule.args:
            for v in (c.value - 1, c.value + 1, c.value | 1 << 32, c.value ^ 1, 0, U64,
                      c.value | ((c.mask or 0) ^ 0xFFFF)):
                mutated = list(base)
                mutated[c.index] = v & U64
                out.append(tuple(mutated))
    pool = _boundary_values(policy)
    for _ in range(60):
        out.append(tuple(rng.choice(pool) if rng.random() < 0.7 else rng.getrandbits(64) for _ in range(6)))
    return list(dict.fromkeys(out))


def _compare(policy: grammar.Policy) -> int:
    """Run every sample through both layouts; return how many decisions were compared."""
    lin = compiler.compile_policy(policy)
    tree = compiler.compile_policy(policy, tree=True)
    assert lin.allow != tree.allow or len(policy.rules) < 3
    lin_f = [Program(f) for f in (lin.deny, lin.allow) if f]
    tree_f = [Program(f) for f in (tree.deny, tree.allow) if f]
    rng = random.Random(1234)
    tuples = _tuples_for(policy, rng)
    points = [(AUDIT_ARCH_X86_64, n) for n in X86_64_NRS + X32_NRS] + \
             [(AUDIT_ARCH_I386, n) for n in I386_NRS] + STRAY
    compared = 0
    for arch, nr in points:
        touched: set[int] = set()
        first = []
        for progs in (lin_f, tree_f):
            first.append([p.run(SeccompData(nr, arch), touched) for p in progs])
        assert bpf.combine(first[0]) == bpf.combine(first[1]), (hex(arch), nr)
        for a, b in zip(first[0], first[1]):
            assert a == b, (hex(arch), nr, a, b)
        compared += 1
        samples = tuples if any(off >= 16 for off in touched) else [(U64,) * 6, tuple(rng.getrandbits(64)
                                                                                      for _ in range(6))]
        for args in samples:
            data = SeccompData(nr, arch, rng.getrandbits(64), args)
            got = [[p.run(data) for p in progs] for progs in (lin_f, tree_f)]
            assert got[0] == got[1], (hex(arch), nr, [hex(a) for a in args], got)
            compared += 1
    return compared


TORTURE = "\n".join([
    "socket AF_INET SOCK_STREAM", "socket AF_INET6 !SOCK_RAW", "socket >=AF_NETLINK <=SOCK_RAW NETLINK_AUDIT",
    "socket AF_NETLINK - NETLINK_ROUTE", "socket AF_UNIX |SOCK_STREAM", "ioctl - !TIOCSTI", "ioctl 0 >TIOCSTI",
    "ioctl - <=21000", "clone |CLONE_NEWUSER", "clone <17", "prctl PR_SET_NAME", "prctl PR_CAP_AMBIENT >=2",
    "setpriority PRIO_PROCESS 0 >=0", "setpriority PRIO_USER u:root <10", "mknod - |S_IFREG -",
    "mknodat - - |S_IFCHR 0", "chown - -1 -1", "setresuid 0 -1 u:root", "fchownat - - u:root g:root -",
    "copy_file_range -1 - -1", "quotactl Q_GETQUOTA", "personality 4294967295", "personality 8",
    "mmap - - - - >=4096 <=4294967295", "read 1 2 3 4 5 6", "lseek - >100", "lseek - <50", "fcntl - |3",
    "chown32 - -1 -1", "socketcall 1", "ipc >2", "read", "write", "getpid", "exit_group", "_llseek - - - - 0",
    "~ioctl - TIOCSTI", "~ioctl - TIOCLINUX", "~clone |CLONE_NEWNET", "~setns - CLONE_NEWUSER", "~kill - 9",
    "~socket AF_PACKET", "~mknod - S_IFBLK"])


def test_tree_and_linear_decide_alike_for_a_policy_of_every_grammar_element():
    assert _compare(grammar.parse(TORTURE)) > 3000


def test_tree_and_linear_decide_alike_for_the_template():
    assert _compare(grammar.parse(template.TEMPLATE)) > 3000


def test_tree_and_linear_decide_alike_for_complain_mode():
    assert _compare(grammar.parse("@complain\n" + TORTURE)) > 3000


def test_tree_and_linear_decide_alike_for_every_example_profile(tmp_path):
    sources = all_example_sources(tmp_path)
    # profiles that differ from each other (the template alone is tested above)
    distinct = {}
    for tag, src in sorted(sources.items()):
        policy = grammar.parse(src, tag)
        if policy.unrestricted:
            continue
        key = (tuple(r.text for r in policy.rules), tuple(r.text for r in policy.denials))
        distinct.setdefault(key, policy)
    assert len(distinct) >= 4
    for policy in distinct.values():
        _compare(policy)
