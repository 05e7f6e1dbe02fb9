"""Allow filters byte-identical to snap-seccomp 2.57.6's, rule by rule and profile by profile.

The reference is Debian's snap-seccomp binary (see seccomp_oracle.py); it is fetched
when missing and its absence fails these tests.
"""
from __future__ import annotations

import pytest

from backends.native.seccomp import compiler, grammar, template
from backends.native.seccomp.grammar import SeccompSyntaxError, parse
from seccomp_oracle import snap_seccomp, snap_seccomp_path  # noqa: F401  (fixtures)
from seccomp_support import all_example_sources

NEG = sorted(grammar.NEGATIVE_ARG_SYSCALLS)


def _constant_cases() -> list[str]:
    """Every constant snap-seccomp 2.57.6 knows, on a syscall that takes it, in its argument slot."""
    where = {"socket domain": "socket {}", "socket type": "socket AF_INET {}", "prctl": "prctl {}",
             "priority": "setpriority {} 0", "clone": "setns - {}", "tty ioctl": "ioctl - {}",
             "quota": "quotactl {}", "mknod": "mknod - |{} -", "netlink": "socket AF_NETLINK - {}",
             "ptrace": "ptrace {}", "kcmp": "kcmp - - {}"}
    out = []
    for family, table in grammar.FAMILIES.items():
        for name in table:
            if name not in grammar.EXTENSION_CONSTANTS:
                out.append(where[family].format(name))
    return out


def _grammar_cases() -> list[str]:
    ops = ["", "!", "<", "<=", ">", ">="]
    out = []
    for op in ops:
        for value in ("0", "1", "7", "4096", "2147483648", "4294967295"):
            out.append(f"lseek - {op}{value}")
    for value in ("0", "1", "3", "255", "2147483648", "4294967295"):
        out.append(f"fcntl - |{value}")
    out += [
        "read", "read -", "read - - - - - -", "read 1 2 3 4 5 6", "mmap - - - - >=0 <=4294967295",
        "read 007", "write - - 00", "personality 4294967295", "prctl PR_SET_NAME -",
        "socket AF_INET SOCK_STREAM 0", "socket AF_INET6 !SOCK_RAW", "socket >=AF_INET <=AF_INET6",
        "socket AF_UNIX |SOCK_STREAM", "socket !AF_PACKET", "socket AF_NETLINK SOCK_RAW NETLINK_AUDIT",
        "socketpair AF_UNIX SOCK_SEQPACKET", "socketcall 1", "socketcall >=1 -", "ipc 1", "ipc - 2",
        "ioctl - !TIOCSTI", "ioctl - TIOCSTI", "ioctl 0 TIOCSTI", "ioctl - >TIOCSTI",
        "clone |CLONE_NEWUSER", "clone !0", "unshare |CLONE_NEWNET", "setns - !CLONE_NEWUSER",
        "mknodat - - |S_IFIFO -", "mknod - S_IFREG 0", "quotactl Q_GETFMT - - -",
        "setpriority PRIO_PROCESS 0 >=0", "setpriority PRIO_USER u:root -", "getpriority <=PRIO_PGRP",
        "read u:root", "read g:root", "read u:nobody g:nogroup", "kill - !0",
        # names of the compat arch only, and of the native arch only
        "chown32", "lchown32 - -1", "_llseek", "mmap2 - - - |1", "fcntl64 - 1", "stat64", "waitpid - - 1",
        "arch_prctl 4098", "newfstatat", "time", "sigreturn", "ugetrlimit", "_newselect",
        # the several spellings of a wait, sleep, time64 calls
        "clock_gettime64 - -", "futex_time64 - 0", "recvmmsg_time64",
        # unknown names are skipped
        "no_such_syscall", "no_such_syscall 1 2",
        # multiple lines about the same call
        "socket AF_INET\nsocket AF_INET6\nsocket AF_INET", "read 1\nread 2\nread", "read\nread",
        # comments, blanks, Windows line ends, complain mode, unrestricted
        "# only a comment", "", "# c\n\nread\n# d\n", "read\r\nwrite\r\n", "  # indented\nread",
        "@complain", "@complain\nread\nwrite 1", "read\n@complain\nsocket AF_UNIX",
        "@unrestricted", "read\n@unrestricted", "@complain\n@unrestricted\nread",
    ]
    for name in NEG:
        out.append(f"{name} -1")
        out.append(f"{name} - -1 -1" if "chown" in name else f"{name} 0 u:root")
    out += ["setuid +7", "setgid -2147483648", "setreuid 4294967295 g:root", "fchownat - - -1 -1 -",
            "chown - u:root g:root", "copy_file_range -1 - -1"]
    return out


CASES = _grammar_cases() + _constant_cases()


def test_enough_single_rule_cases():
    assert len(CASES) >= 150, len(CASES)
    used = " ".join(CASES)
    for family, table in grammar.FAMILIES.items():
        if set(table) <= grammar.EXTENSION_CONSTANTS:
            continue  # kcmp: newer snapd only, checked below against numbers
        assert any(n in used for n in table), family


@pytest.fixture(scope="module")
def references(snap_seccomp) -> dict[str, bytes]:  # noqa: F811
    return dict(zip(CASES, snap_seccomp.compile_many(CASES)))


@pytest.mark.parametrize("text", CASES, ids=[c.replace("\n", "\\n")[:50] for c in CASES])
def test_allow_filter_is_byte_identical(text, references):
    result = compiler.compile_policy(parse(text))
    assert result.allow == references[text]
    assert compiler.compile_allow(parse(text)) == (None if result.unrestricted else references[text])


def test_skipped_names_are_reported():
    result = compiler.compile_policy(parse("read\nno_such_syscall\nlistmount\nno_such_syscall 1\n~nope2"))
    assert result.skipped[:1] == ("no_such_syscall",)
    assert "nope2" in result.skipped and result.skipped.count("no_such_syscall") == 1


def test_extension_constants_compile_like_their_numbers(snap_seccomp):  # noqa: F811
    for name in sorted(grammar.EXTENSION_CONSTANTS):
        ok, _ = snap_seccomp.try_compile(f"kcmp {name}")
        assert not ok, f"snap-seccomp 2.57.6 unexpectedly knows {name}"
        ours = compiler.compile_allow(parse(f"kcmp {name}"))
        assert ours == snap_seccomp.compile(f"kcmp {grammar.CONSTANTS[name]}")


# Lines snap-seccomp refuses: we refuse them too.
BOTH_REFUSE = ["read 0x10", "read 4294967296", "read -1", "read +5", "setgroups -1", "chown - !5", "chown - |1",
               "chown - -2147483649", "socket AF_INETT", "read 1 2 3 4 5 6 7", "read u:Root", "read g:_ssh",
               "read u:nosuchuser-confine", "read >", "read # comment", "read >=-1", "ioctl - TIOCSTIX",
               "mknod - |S_IFDIR"]
# Lines snap-seccomp lets through (it skips the "syscall" before reading anything) that we refuse.
ONLY_WE_REFUSE = ["READ 1", "nosuch BAD", "@unrestrict", "~ioctl - NOPE"]


@pytest.mark.parametrize("line", BOTH_REFUSE)
def test_refused_by_both(line, snap_seccomp):  # noqa: F811
    ok, message = snap_seccomp.try_compile(line + "\n")
    assert not ok, message
    with pytest.raises(SeccompSyntaxError):
        parse(line)


@pytest.mark.parametrize("line", ONLY_WE_REFUSE)
def test_stricter_than_snap_seccomp(line, snap_seccomp):  # noqa: F811
    ok, _ = snap_seccomp.try_compile(line + "\n")
    assert ok
    with pytest.raises(SeccompSyntaxError):
        parse(line)


def test_template_is_byte_identical(snap_seccomp):  # noqa: F811
    src = template.TEMPLATE
    result = compiler.compile_policy(parse(src))
    assert result.allow == snap_seccomp.compile(grammar.without_denials(src))
    assert result.deny is not None and result.skipped == ()


# ---- every example app with all its plugs connected --------------------------------

@pytest.fixture(scope="module")
def example_sources(tmp_path_factory) -> dict[str, str]:
    return all_example_sources(tmp_path_factory.mktemp("examples"))


def test_every_example_profile_is_byte_identical(example_sources, snap_seccomp):  # noqa: F811
    assert len(example_sources) >= 9
    tags = sorted(example_sources)
    refs = snap_seccomp.compile_many([grammar.without_denials(example_sources[t]) for t in tags])
    for tag, ref in zip(tags, refs):
        result = compiler.compile_policy(parse(example_sources[tag], tag))
        assert result.allow == ref, tag
        if not result.unrestricted:
            assert result.deny is not None, tag
    # the interfaces did change the filters: not every profile is the bare template
    assert len({compiler.compile_allow(parse(s)) for s in example_sources.values()}) >= 5
