"""The few pieces of ctypes that the launcher's fast path calls, built on `_ctypes`.

`import ctypes` costs about 3 ms on this kind of VM (a tenth of a launch): its
__init__ defines some 30 type classes, the byte-order structures, and makes a
libffi callback at import. The launcher needs a handful of them: calling libc
functions (mount, unshare, prctl, capget/capset, syscall) with errno, integer
and pointer types, structures, byref and sizeof. These are the C
implementations that ctypes itself re-exports; the type classes below are
defined exactly as ctypes defines them (a `_SimpleCData` subclass with the
same `_type_` code), so they behave the same as arguments, results and fields
and mix freely with ctypes' own objects.

Used by mounts, capabilities, seccomp.load and landlock.apply. Linux only (the
sizes: long and size_t are the pointer's size there).
"""
from __future__ import annotations

import _ctypes
from _ctypes import (POINTER, Structure, _SimpleCData, addressof, byref, get_errno,  # noqa: F401 (re-exported)
                     set_errno, sizeof)

__all__ = ["CDLL", "POINTER", "Structure", "addressof", "byref", "get_errno", "set_errno", "sizeof",
           "c_int", "c_uint", "c_long", "c_ulong", "c_ushort", "c_ubyte", "c_int32", "c_uint8", "c_uint16",
           "c_uint32", "c_uint64", "c_size_t", "c_void_p", "c_char_p"]


class c_int(_SimpleCData):
    _type_ = "i"


class c_uint(_SimpleCData):
    _type_ = "I"


class c_long(_SimpleCData):
    _type_ = "l"


class c_ulong(_SimpleCData):
    _type_ = "L"


class c_ushort(_SimpleCData):
    _type_ = "H"


class c_ubyte(_SimpleCData):
    _type_ = "B"


class c_uint64(_SimpleCData):
    _type_ = "Q"


class c_void_p(_SimpleCData):
    _type_ = "P"


class c_char_p(_SimpleCData):
    _type_ = "z"


c_int32, c_uint32, c_uint8, c_uint16 = c_int, c_uint, c_ubyte, c_ushort
c_size_t = c_ulong                   # as ctypes has it where long and pointers are the same size (Linux)


class CDLL:
    """A shared library (None: the program itself, hence libc), as ctypes.CDLL:
    `lib.name` is the C function, returning int unless its `restype` says else;
    with use_errno, ctypes' private errno copy (get_errno) is set by each call."""

    def __init__(self, name: str | None = None, use_errno: bool = False):
        self._name = name
        flags = _ctypes.FUNCFLAG_CDECL | (_ctypes.FUNCFLAG_USE_ERRNO if use_errno else 0)

        class _FuncPtr(_ctypes.CFuncPtr):
            _flags_ = flags
            _restype_ = c_int

        self._FuncPtr = _FuncPtr
        self._handle = _ctypes.dlopen(name, _ctypes.RTLD_LOCAL)

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        func = self._FuncPtr((name, self))
        func.__name__ = name
        setattr(self, name, func)
        return func

    def __repr__(self) -> str:
        return f"<CDLL {self._name!r} (ctypes_lite)>"
