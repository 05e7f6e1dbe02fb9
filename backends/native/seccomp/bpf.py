"""A classic-BPF interpreter over seccomp_data: the action a filter decides, without the kernel.

seccomp hands a filter this 64-byte record (little endian on x86):

    offset  0  nr                   u32 (int)
            4  arch                 u32 (AUDIT_ARCH_*)
            8  instruction_pointer  u64
           16  args[6]              u64 each

and the filter returns a 32-bit value: the action in the high 16 bits, data (an
errno, a trace message) in the low 16. This module runs the instruction set the
kernel accepts for seccomp (loads of 32-bit words of the record, the scratch
memory, ALU, jumps, returns), reports what a filter returns, names actions, and
combines several filters the way the kernel does. It is used to compare filters
decision by decision and to check what calls of an ABI the kernel lacks (x32)
would get.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_I386 = 0x40000003
X32_SYSCALL_BIT = 0x40000000

RET_KILL_PROCESS = 0x80000000
RET_KILL_THREAD = 0x00000000
RET_TRAP = 0x00030000
RET_ERRNO = 0x00050000
RET_USER_NOTIF = 0x7FC00000
RET_TRACE = 0x7FF00000
RET_LOG = 0x7FFC0000
RET_ALLOW = 0x7FFF0000
ACTION_FULL = 0xFFFF0000
DATA = 0x0000FFFF

_ACTION_NAMES = {RET_KILL_PROCESS: "kill_process", RET_KILL_THREAD: "kill_thread", RET_TRAP: "trap",
                 RET_ERRNO: "errno", RET_USER_NOTIF: "user_notif", RET_TRACE: "trace", RET_LOG: "log",
                 RET_ALLOW: "allow"}

# Instruction classes and fields (linux/filter.h)
LD, LDX, ST, STX, ALU, JMP, RET, MISC = range(8)
W, H, B = 0x00, 0x08, 0x10
IMM, ABS, IND, MEM, LEN, MSH = 0x00, 0x20, 0x40, 0x60, 0x80, 0xA0
K, X, A_SRC = 0x00, 0x08, 0x10
ADD, SUB, MUL, DIV, OR, AND, LSH, RSH, NEG, MOD, XOR = (0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70,
                                                        0x80, 0x90, 0xA0)
JA, JEQ, JGT, JGE, JSET = 0x00, 0x10, 0x20, 0x30, 0x40
TAX, TXA = 0x00, 0x80

SECCOMP_DATA_SIZE = 64
MEMWORDS = 16
MASK32 = 0xFFFFFFFF


class BPFError(ValueError):
    """A program the kernel would refuse, or that misbehaves while running."""


@dataclass(frozen=True)
class Insn:
    code: int
    jt: int
    jf: int
    k: int


@dataclass(frozen=True)
class SeccompData:
    nr: int
    arch: int = AUDIT_ARCH_X86_64
    instruction_pointer: int = 0
    args: tuple[int, ...] = (0, 0, 0, 0, 0, 0)

    def words(self) -> tuple[int, ...]:
        """The record as sixteen 32-bit words, in the order the offsets name them."""
        args = tuple(self.args) + (0,) * (6 - len(self.args))
        raw = struct.pack("<iIQ6Q", _s32(self.nr), self.arch & MASK32, self.instruction_pointer & (2**64 - 1),
                          *(a & (2**64 - 1) for a in args))
        return struct.unpack("<16I", raw)


def _s32(v: int) -> int:
    v &= MASK32
    return v - (1 << 32) if v & 0x80000000 else v


def decode(bpf: bytes) -> list[Insn]:
    """The instructions of a raw filter (8-byte sock_filter records, native order)."""
    if len(bpf) % 8:
        raise BPFError(f"a filter is a whole number of 8-byte instructions, not {len(bpf)} bytes")
    return [Insn(*t) for t in struct.iter_unpack("=HBBI", bpf)]


class Program:
    """A checked, decoded filter, ready to run many times."""

    def __init__(self, bpf: bytes | list[Insn]):
        self.insns = decode(bpf) if isinstance(bpf, (bytes, bytearray, memoryview)) else list(bpf)
        n = len(self.insns)
        if not 0 < n <= 4096:
            raise BPFError(f"a filter has 1 to 4096 instructions, not {n}")
        for pc, i in enumerate(self.insns):
            cls = i.code & 0x07
            if cls == JMP:
                op = i.code & 0xF0
                targets = [pc + 1 + i.k] if op == JA else [pc + 1 + i.jt, pc + 1 + i.jf]
                if any(t >= n for t in targets):
                    raise BPFError(f"instruction {pc}: jump past the end")
            elif cls in (LD, LDX):
                mode = i.code & 0xE0
                if mode == ABS and (i.code & 0x18 != W or i.k % 4 or i.k >= SECCOMP_DATA_SIZE):
                    raise BPFError(f"instruction {pc}: seccomp loads aligned 32-bit words of its 64-byte record")
                if mode == MEM and i.k >= MEMWORDS:
                    raise BPFError(f"instruction {pc}: scratch memory has {MEMWORDS} words")
                if mode not in (IMM, ABS, MEM, LEN):
                    raise BPFError(f"instruction {pc}: load mode {mode:#x} is not allowed in seccomp")
            elif cls in (ST, STX) and i.k >= MEMWORDS:
                raise BPFError(f"instruction {pc}: scratch memory has {MEMWORDS} words")
        if self.insns[-1].code & 0x07 != RET:
            raise BPFError("a filter must end in a return")

    def __len__(self) -> int:
        return len(self.insns)

    def run(self, data: SeccompData, touched: set[int] | None = None) -> int:
        """The 32-bit value the filter returns for `data`.

        `touched`, when given, receives the byte offsets of every word loaded from the
        record (so a caller learns whether the decision depended on the arguments).
        """
        words = data.words()
        insns = self.insns
        a = x = 0
        mem = [0] * MEMWORDS
        pc = 0
        n = len(insns)
        while pc < n:
            i = insns[pc]
            code = i.code
            cls = code & 0x07
            pc += 1
            if cls == JMP:
                op = code & 0xF0
                if op == JA:
                    pc += i.k
                    continue
                src = x if code & X else i.k
                if op == JEQ:
                    cond = a == src
                elif op == JGT:
                    cond = a > src
                elif op == JGE:
                    cond = a >= src
                elif op == JSET:
                    cond = bool(a & src)
                else:
                    raise BPFError(f"instruction {pc - 1}: unknown jump {code:#x}")
                pc += i.jt if cond else i.jf
            elif cls == LD:
                mode = code & 0xE0
                if mode == ABS:
                    if touched is not None:
                        touched.add(i.k)
                    a = words[i.k >> 2]
                elif mode == IMM:
                    a = i.k
                elif mode == MEM:
                    a = mem[i.k]
                elif mode == LEN:
                    a = SECCOMP_DATA_SIZE
                else:
                    raise BPFError(f"instruction {pc - 1}: bad load {code:#x}")
            elif cls == RET:
                src = code & 0x18
                return (a if src == A_SRC else x if src == X else i.k) & MASK32
            elif cls == ALU:
                op = code & 0xF0
                src = x if code & X else i.k
                if op == ADD:
                    a = (a + src) & MASK32
                elif op == SUB:
                    a = (a - src) & MASK32
                elif op == MUL:
                    a = (a * src) & MASK32
                elif op == DIV:
                    if src == 0:
                        return RET_KILL_THREAD  # the kernel's BPF aborts with 0
                    a //= src
                elif op == MOD:
                    if src == 0:
                        return RET_KILL_THREAD
                    a %= src
                elif op == OR:
                    a |= src
                elif op == AND:
                    a &= src
                elif op == XOR:
                    a ^= src
                elif op == LSH:
                    a = (a << src) & MASK32 if src < 32 else 0
                elif op == RSH:
                    a = a >> src if src < 32 else 0
                elif op == NEG:
                    a = (-a) & MASK32
                else:
                    raise BPFError(f"instruction {pc - 1}: unknown ALU op {code:#x}")
            elif cls == LDX:
                mode = code & 0xE0
                if mode == IMM:
                    x = i.k
                elif mode == MEM:
                    x = mem[i.k]
                elif mode == LEN:
                    x = SECCOMP_DATA_SIZE
                else:
                    raise BPFError(f"instruction {pc - 1}: bad load {code:#x}")
            elif cls == ST:
                mem[i.k] = a
            elif cls == STX:
                mem[i.k] = x
            else:  # MISC
                if code & 0xF8 == TAX:
                    x = a
                else:
                    a = x
        raise BPFError("the filter ran past its end")


def run(bpf: bytes | Program, data: SeccompData) -> int:
    prog = bpf if isinstance(bpf, Program) else Program(bpf)
    return prog.run(data)


def action(ret: int) -> int:
    """The action part of a return value (kill_process keeps its high bit)."""
    return ret & ACTION_FULL


def describe(ret: int) -> str:
    """A return value as words: allow, log, errno(1), kill_thread, trace(5)..."""
    act = action(ret)
    name = _ACTION_NAMES.get(act)
    if name is None:
        return f"unknown({ret:#010x})"
    if act in (RET_ERRNO, RET_TRACE):
        return f"{name}({ret & DATA})"
    return name


def _precedence(ret: int) -> int:
    """Lower is more restrictive: the kernel compares actions as signed 32-bit values."""
    act = action(ret)
    return act - (1 << 32) if act & 0x80000000 else act


def combine(results: list[int]) -> int:
    """The result of several filters for one call, as the kernel picks it.

    `results` are in load order (first loaded first). The kernel runs the newest
    filter first and keeps a later result only when it is strictly more
    restrictive, so on a tie the most recently loaded filter's value wins.
    """
    best = None
    for ret in reversed(results):
        if best is None or _precedence(ret) < _precedence(best):
            best = ret
    if best is None:
        return RET_ALLOW
    return best


def decide(filters: list[bytes | Program], data: SeccompData) -> int:
    """What the kernel answers for `data` under `filters`, given in load order."""
    return combine([run(f, data) for f in filters])


def disassemble(bpf: bytes | Program) -> str:
    """A readable listing of a filter, one instruction per line."""
    prog = bpf if isinstance(bpf, Program) else Program(bpf)
    names = {0: "nr", 4: "arch", 8: "ip.lo", 12: "ip.hi"}
    for n in range(6):
        names[16 + 8 * n] = f"args[{n}].lo"
        names[20 + 8 * n] = f"args[{n}].hi"
    jumps = {JEQ: "jeq", JGT: "jgt", JGE: "jge", JSET: "jset"}
    alu = {ADD: "add", SUB: "sub", MUL: "mul", DIV: "div", OR: "or", AND: "and", LSH: "lsh", RSH: "rsh",
           NEG: "neg", MOD: "mod", XOR: "xor"}
    lines = []
    for pc, i in enumerate(prog.insns):
        cls = i.code & 0x07
        if cls == LD and i.code & 0xE0 == ABS:
            text = f"ld  [{i.k}]  ; {names.get(i.k, '?')}"
        elif cls == LD:
            text = {IMM: f"ld  #{i.k:#x}", MEM: f"ld  M[{i.k}]", LEN: "ld  #len"}.get(i.code & 0xE0, f"ld? {i.code:#x}")
        elif cls == LDX:
            text = {IMM: f"ldx #{i.k:#x}", MEM: f"ldx M[{i.k}]", LEN: "ldx #len"}.get(i.code & 0xE0,
                                                                                f"ldx? {i.code:#x}")
        elif cls == ST:
            text = f"st  M[{i.k}]"
        elif cls == STX:
            text = f"stx M[{i.k}]"
        elif cls == ALU:
            text = f"{alu.get(i.code & 0xF0, '?')} {'x' if i.code & X else f'#{i.k:#x}'}"
        elif cls == JMP and i.code & 0xF0 == JA:
            text = f"ja  {pc + 1 + i.k}"
        elif cls == JMP:
            src = "x" if i.code & X else f"#{i.k:#x}"
            text = f"{jumps.get(i.code & 0xF0, '?')} {src}, {pc + 1 + i.jt}, {pc + 1 + i.jf}"
        elif cls == RET:
            text = "ret a" if i.code & 0x18 == A_SRC else f"ret #{i.k:#010x}  ; {describe(i.k)}"
        else:
            text = "tax" if i.code & 0xF8 == TAX else "txa"
        lines.append(f"{pc:4d}: {text}")
    return "\n".join(lines) + "\n"
