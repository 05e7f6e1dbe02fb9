"""The compiler gives libseccomp the rules in the order it places fastest (by number,
from the largest down, within groups that keep their written order): the filters are
the very bytes of the written order, whatever the rules."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.native.seccomp import compiler, template
from backends.native.seccomp.grammar import SeccompSyntaxError, parse

FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

NAMES = sorted(compiler._MULTIPLEXED) + [
    # both arches, native only, compat only (pseudo numbers on the native arch)
    "read", "write", "openat", "close", "ioctl", "clone", "prctl", "kill", "lseek", "mmap", "time", "select",
    "umount2", "getrlimit", "fadvise64", "setuid", "chown", "arch_prctl", "newfstatat", "chown32", "lchown32",
    "_llseek", "mmap2", "fcntl64", "stat64", "umount", "ugetrlimit", "_newselect", "fadvise64_64", "waitpid",
    "sigreturn", "clock_gettime64", "futex_time64", "no_such_syscall",
]
ARGS = ["-", "0", "1", "2", "AF_UNIX", "AF_INET", "!0", ">=1", "<=3", "|1", "4294967295"]


def written_order(policy, tree: bool) -> bytes:
    """The allow filter with the rules given to libseccomp as written."""
    steps = compiler._plan(policy.rules, {})
    ctx = compiler._new_ctx(compiler._allow_default(policy), tree)
    try:
        compiler._add_rules(ctx, compiler.ACT_ALLOW, steps, policy.file, reorder=False)
    except BaseException:
        compiler._native().release(ctx)
        raise
    return compiler._finish(ctx)


def same_filters(text: str) -> None:
    compiler.compile_policy(parse("read"))   # the first filter learns that exact rules are refused
    assert compiler._native().arch in compiler._never_exact   # so rules take the fast order
    policy = parse(text)
    for tree in (False, True):
        assert compiler.compile_policy(policy, tree=tree).allow == written_order(policy, tree), (tree, text)


def test_the_template_and_rules_about_the_same_calls():
    same_filters(template.TEMPLATE)
    same_filters(template.TEMPLATE + "\nsocket AF_INET\nsocketcall 1\nsocket AF_INET6\nbind\nipc 1\nshmget\n"
                                     "chown32 - -1\nchown 0 u:root\nread 1\nread\nread 2\n")


@settings(FUZZ, max_examples=150)
@given(st.lists(st.tuples(st.sampled_from(NAMES), st.lists(st.sampled_from(ARGS), max_size=3)),
                min_size=1, max_size=40))
def test_fuzz_the_order_of_the_calls_never_shows(lines):
    text = "\n".join(" ".join([name, *args]) for name, args in lines)
    try:
        parse(text)
    except SeccompSyntaxError:
        return
    same_filters(text)


def test_a_refused_rule_is_named_as_in_the_written_order(monkeypatch):
    calls = []
    native = compiler._native()
    refused = (compiler.resolve("write"), compiler.resolve("kill"))

    class Refusing:
        """libseccomp refusing the rules about write and kill."""
        def __getattr__(self, name):
            return getattr(native, name)

        @staticmethod
        def add(ctx, action, nr, n, arr):
            calls.append(nr)
            return -22 if nr in refused else native.add(ctx, action, nr, n, arr)

    compiler.compile_policy(parse("read"))
    monkeypatch.setattr(compiler, "_native", lambda: Refusing())
    with pytest.raises(SeccompSyntaxError) as info:
        compiler.compile_policy(parse("read\nwrite\nkill\n"))   # in number order, kill comes first
    assert (info.value.line, info.value.field) == (2, "write")
    assert calls[0] == compiler.resolve("kill")   # the fast order was tried first
