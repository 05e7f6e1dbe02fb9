"""Regenerate the syscall name tables of this folder (build time only, never at run time).

Run with the system Python on a Debian host that has libseccomp 2.5 (package
libseccomp2; `seccomp` gives the same data through scmp_sys_resolver):

    /usr/bin/python3 backends/native/denials/syscalls/generate.py

For each architecture libseccomp knows, every syscall number in the ranges the
kernel uses is turned into its name (seccomp_syscall_resolve_num_arch: the
kernel's own syscall tables as libseccomp ships them) and written as
`<table>.tsv`, one "number<TAB>name" line each, sorted by number. The numbers
are those the kernel puts in `syscall=` of a seccomp audit record: x32 keeps
its 0x40000000 bit, MIPS its 4000/5000/6000 base, ARM its private 0x0f0000
calls.
"""
from __future__ import annotations

import ctypes
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# libseccomp's architecture name -> our table name, and the number ranges to scan
TABLES = {
    "x86": ("i386", [range(0, 1024)]),
    "x86_64": ("x86_64", [range(0, 1024)]),
    "x32": ("x32", [range(0x40000000, 0x40000000 + 1024)]),
    "arm": ("arm", [range(0, 1024), range(0x0F0000, 0x0F0100)]),
    "aarch64": ("aarch64", [range(0, 1024)]),
    "mips": ("mips", [range(4000, 5024)]),
    "mips64": ("mips64", [range(5000, 6024)]),
    "mips64n32": ("mips64n32", [range(6000, 7024)]),
    "ppc": ("ppc", [range(0, 1024)]),
    "ppc64": ("ppc64", [range(0, 1024)]),
    "s390": ("s390", [range(0, 1024)]),
    "s390x": ("s390x", [range(0, 1024)]),
    "parisc": ("parisc", [range(0, 1024)]),
    "parisc64": ("parisc64", [range(0, 1024)]),
    "riscv64": ("riscv64", [range(0, 1024)]),
}

# Calls newer than libseccomp 2.5.4's tables. Since 424 (pidfd_send_signal) every
# architecture uses the same number for a new call (MIPS adds its ABI base, x32
# its bit); these are from the kernel's syscall tables (Linux 6.8 to 6.17).
NEWER = {457: "statmount", 458: "listmount", 459: "lsm_get_self_attr", 460: "lsm_set_self_attr",
         461: "lsm_list_modules", 462: "mseal", 463: "setxattrat", 464: "getxattrat",
         465: "listxattrat", 466: "removexattrat", 467: "open_tree_attr", 468: "file_getattr",
         469: "file_setattr"}
BASE = {"mips": 4000, "mips64": 5000, "mips64n32": 6000, "x32": 0x40000000}
ONLY = {"x86_64": {335: "uretprobe"}}   # one architecture's own newer calls (Linux 6.11)


def main() -> int:
    lib = ctypes.CDLL("libseccomp.so.2")
    libc = ctypes.CDLL(None)
    lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
    lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_syscall_resolve_num_arch.restype = ctypes.c_void_p
    lib.seccomp_syscall_resolve_num_arch.argtypes = [ctypes.c_uint32, ctypes.c_int]
    libc.free.argtypes = [ctypes.c_void_p]
    for arch, (table, ranges) in TABLES.items():
        token = lib.seccomp_arch_resolve_name(arch.encode())
        if not token:
            print(f"libseccomp does not know {arch}", file=sys.stderr)
            return 1
        found: dict[int, str] = {}
        for rng in ranges:
            for nr in rng:
                p = lib.seccomp_syscall_resolve_num_arch(token, nr)
                if p:
                    found[nr] = ctypes.string_at(p).decode()
                    libc.free(p)
        known = set(found.values())
        extra = {BASE.get(table, 0) + nr: name for nr, name in NEWER.items()}
        extra.update(ONLY.get(table, {}))
        for nr, name in extra.items():
            if name not in known:
                found.setdefault(nr, name)
        rows = [f"{nr}\t{name}" for nr, name in sorted(found.items())]
        (HERE / f"{table}.tsv").write_text("\n".join(rows) + "\n")
        print(f"{table}: {len(rows)} syscalls")
    return 0


if __name__ == "__main__":
    sys.exit(main())
