"""The seccomp line grammar: what it accepts, how it reads it, and what it refuses (with line and token)."""
from __future__ import annotations

import grp
import pwd

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.errors import ConfineError, SourceError
from backends.native.seccomp import grammar
from backends.native.seccomp.grammar import ArgCond, SeccompSyntaxError, parse

FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
M32 = 0xFFFFFFFF
ROOT_GID = grp.getgrnam("root").gr_gid


def one(line: str) -> grammar.Rule:
    p = parse(line)
    rules = p.rules + p.denials
    assert len(rules) == 1
    return rules[0]


# ---- accepted lines and how they read ---------------------------------------------

@pytest.mark.parametrize("line, args", [
    ("read", ()),
    ("read -", ()),
    ("read - - - - - -", ()),
    ("read 5", (ArgCond(0, "EQ", 5),)),
    ("read 007", (ArgCond(0, "EQ", 7),)),
    ("read 0", (ArgCond(0, "EQ", 0),)),
    ("read 4294967295", (ArgCond(0, "EQ", M32),)),
    ("read - 3", (ArgCond(1, "EQ", 3),)),
    ("read !3", (ArgCond(0, "NE", 3),)),
    ("read <3", (ArgCond(0, "LT", 3),)),
    ("read <=3", (ArgCond(0, "LE", 3),)),
    ("read >3", (ArgCond(0, "GT", 3),)),
    ("read >=3", (ArgCond(0, "GE", 3),)),
    ("read |3", (ArgCond(0, "MASKED_EQ", 3, 3),)),
    ("read |0", (ArgCond(0, "MASKED_EQ", 0, 0),)),
    ("socket AF_INET SOCK_STREAM", (ArgCond(0, "EQ", 2), ArgCond(1, "EQ", 1))),
    ("socket PF_NETLINK - NETLINK_KOBJECT_UEVENT", (ArgCond(0, "EQ", 16), ArgCond(2, "EQ", 15))),
    ("socket AF_CONN", (ArgCond(0, "EQ", 123),)),
    ("prctl PR_SET_PTRACER", (ArgCond(0, "EQ", 0x59616D61),)),
    ("prctl PR_CAP_AMBIENT PR_CAP_AMBIENT_RAISE", (ArgCond(0, "EQ", 47), ArgCond(1, "EQ", 2))),
    ("setpriority PRIO_PROCESS 0 >=0", (ArgCond(0, "EQ", 0), ArgCond(1, "EQ", 0), ArgCond(2, "GE", 0))),
    ("setns - CLONE_NEWNET", (ArgCond(1, "EQ", 0x40000000),)),
    ("clone |CLONE_NEWUSER", (ArgCond(0, "MASKED_EQ", 0x10000000, 0x10000000),)),
    ("ioctl - TIOCSTI", (ArgCond(1, "EQ", 0x5412),)),
    ("ioctl - !TIOCLINUX", (ArgCond(1, "NE", 0x541C),)),
    ("quotactl Q_GETQUOTA", (ArgCond(0, "EQ", 0x800007),)),
    ("quotactl Q_XGETQSTAT", (ArgCond(0, "EQ", 0x5805),)),
    ("mknod - |S_IFCHR -", (ArgCond(1, "MASKED_EQ", 0o020000, 0o020000),)),
    ("ptrace PTRACE_PEEKUSR", (ArgCond(0, "EQ", 3),)),
    ("kcmp - - KCMP_FILE", (ArgCond(2, "EQ", 0),)),
    # uid/gid syscalls: -1, a sign, ids by name; every condition on the low 32 bits
    ("chown - -1 -1", (ArgCond(1, "MASKED_EQ", M32, M32), ArgCond(2, "MASKED_EQ", M32, M32))),
    ("setuid +5", (ArgCond(0, "MASKED_EQ", 5, M32),)),
    ("setuid -2147483648", (ArgCond(0, "MASKED_EQ", 0x80000000, M32),)),
    ("setresuid 0 u:root -1", (ArgCond(0, "MASKED_EQ", 0, M32), ArgCond(1, "MASKED_EQ", 0, M32),
                               ArgCond(2, "MASKED_EQ", M32, M32))),
    ("fchownat - - u:root g:root -", (ArgCond(2, "MASKED_EQ", 0, M32), ArgCond(3, "MASKED_EQ", ROOT_GID, M32))),
    ("setgid32 4294967295", (ArgCond(0, "MASKED_EQ", M32, M32),)),
    # elsewhere ids are plain equality
    ("read u:root g:root", (ArgCond(0, "EQ", 0), ArgCond(1, "EQ", ROOT_GID))),
])
def test_accepted_lines(line, args):
    rule = one(line)
    assert rule.args == args
    assert rule.syscall == line.split()[0]
    assert not rule.deny


def test_user_and_group_names_come_from_the_host_databases():
    user = pwd.getpwuid(65534).pw_name if _has_uid(65534) else "root"
    rule = one(f"read u:{user} g:{grp.getgrgid(0).gr_name}")
    assert rule.args[0].value == pwd.getpwnam(user).pw_uid
    assert rule.args[1].value == 0


def _has_uid(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False


def test_denials_compare_plain_values_on_the_low_32_bits():
    rule = one("~ioctl - TIOCSTI")
    assert rule.deny and rule.syscall == "ioctl"
    assert rule.args == (ArgCond(1, "MASKED_EQ", 0x5412, M32),)
    assert rule.args[0].matches(0x5412) and rule.args[0].matches(0x100005412)
    assert not rule.args[0].matches(0x5413)
    # other operators keep their 64-bit meaning
    assert one("~ioctl - !TIOCSTI").args == (ArgCond(1, "NE", 0x5412),)
    assert one("~clone |CLONE_NEWNS").args == (ArgCond(0, "MASKED_EQ", 0x20000, 0x20000),)


def test_policy_sections_directives_comments_and_line_numbers():
    text = "# head\n\n  # indented comment\nread\n\t\nwrite 1\r\n~ioctl - TIOCSTI\n  @complain  \nopenat - - >=0\n"
    p = parse(text, "x.src")
    assert p.file == "x.src"
    assert [(r.syscall, r.line) for r in p.rules] == [("read", 4), ("write", 6), ("openat", 9)]
    assert [(r.syscall, r.line) for r in p.denials] == [("ioctl", 7)]
    assert p.complain and not p.unrestricted
    assert parse("@unrestricted\nread").unrestricted
    assert p.syscalls() == {"read", "write", "openat", "ioctl"}


def test_tabs_and_repeated_blanks_separate_tokens():
    assert one("socket\tAF_INET   SOCK_DGRAM").args == (ArgCond(0, "EQ", 2), ArgCond(1, "EQ", 2))


def test_unknown_syscall_names_are_not_an_error_here():
    assert one("no_such_syscall_yet 1").syscall == "no_such_syscall_yet"


def test_constant_families_cover_what_snap_seccomp_knows():
    fams = grammar.FAMILIES
    for family in ("socket domain", "socket type", "prctl", "priority", "clone", "tty ioctl", "quota", "mknod",
                   "netlink", "ptrace", "kcmp"):
        assert fams[family]
    assert len(grammar.CONSTANTS) > 200
    assert all(0 <= v <= M32 for v in grammar.CONSTANTS.values())
    for name, value in grammar.FAMILIES["socket domain"].items():
        assert grammar.CONSTANTS["PF" + name[2:]] == grammar.CONSTANTS["AF" + name[2:]] == value


def test_format_rule_round_trips():
    for line in ("socket AF_INET - NETLINK_ROUTE", "~ioctl - TIOCSTI", "chown - -1 u:root", "read >=5 !3 |8"):
        assert grammar.format_rule(one(line)) == line


def test_without_denials_drops_only_tilde_lines():
    assert grammar.without_denials("read\n~ioctl - TIOCSTI\n  ~kcmp\nwrite\n") == "read\nwrite\n"


# ---- refused lines: line, token and reason -----------------------------------------

USER_LOOKS_VALID_BUT_ABSENT = "nosuchuser-confine"

BAD = [
    # (line, offending token, words of the reason)
    ("read 0x10", "0x10", "hexadecimal"),
    ("read 0X1F", "0X1F", "hexadecimal"),
    ("read 0o17", "0o17", "bases"),
    ("read 0b101", "0b101", "bases"),
    ("read 1e3", "1e3", "not a decimal number"),
    ("read 1.5", "1.5", "not a decimal number"),
    ("read 1_000", "1_000", "not a decimal number"),
    ("read 4294967296", "4294967296", "over 32 bits"),
    ("read 18446744073709551615", "18446744073709551615", "over 32 bits"),
    ("read 99999999999999999999999", "99999999999999999999999", "over 32 bits"),
    ("read >4294967296", ">4294967296", "over 32 bits"),
    ("read |4294967296", "|4294967296", "over 32 bits"),
    ("read -1", "-1", "negative numbers"),
    ("read +5", "+5", "a sign"),
    ("setgroups -1", "-1", "negative numbers"),
    ("setfsuid -1", "-1", "negative numbers"),
    ("read >=-1", ">=-1", "negative numbers"),
    ("chown - -2147483649", "-2147483649", "signed number"),
    ("chown - -4294967295", "-4294967295", "signed number"),
    ("setuid 4294967296", "4294967296", "over 32 bits"),
    ("chown - !5", "!5", "only plain values"),
    ("chown - !-1", "!-1", "only plain values"),
    ("chown - |5", "|5", "only plain values"),
    ("setuid >=0", ">=0", "only plain values"),
    ("setresgid <1", "<1", "only plain values"),
    ("socket AF_INETT", "AF_INETT", "did you mean AF_INET"),
    ("socket af_inet", "af_inet", "unknown constant"),
    ("socket AF_INET SOCK_STREEM", "SOCK_STREEM", "did you mean SOCK_STREAM"),
    ("prctl PR_SET_NAMES", "PR_SET_NAMES", "unknown constant"),
    ("setns - CLONE_NEWNETS", "CLONE_NEWNETS", "unknown constant"),
    ("ioctl - TIOCSTIX", "TIOCSTIX", "unknown constant"),
    ("quotactl Q_GETQUOTAS", "Q_GETQUOTAS", "unknown constant"),
    ("mknod - |S_IFDIR", "|S_IFDIR", "unknown constant"),
    ("socket AF_NETLINK - NETLINK_NOPE", "NETLINK_NOPE", "unknown constant"),
    ("setpriority PRIO_THREAD", "PRIO_THREAD", "unknown constant"),
    ("read SIGKILL", "SIGKILL", "unknown constant"),
    ("read >", ">", "a value must follow"),
    ("read >=", ">=", "a value must follow"),
    ("read !", "!", "a value must follow"),
    ("read |", "|", "a value must follow"),
    ("read <", "<", "a value must follow"),
    ("read =5", "=5", "not a decimal number"),
    ("read ==5", "==5", "not a decimal number"),
    ("read >>5", ">>5", "not a decimal number"),
    ("read <>5", "<>5", "not a decimal number"),
    ("read !!5", "!!5", "not a decimal number"),
    ("read --", "--", "not a decimal number"),
    ("read # inline comment", "#", "not a decimal number"),
    ("read 5;", "5;", "not a decimal number"),
    ("read \u0663", "\u0663", "not a decimal number"),
    ("read 1 2 3 4 5 6 7", "7", "too many arguments"),
    ("read - - - - - - -", "-", "too many arguments"),
    ("nosuchcall 1 2 3 4 5 6 7 8", "7", "too many arguments"),
    ("read u:", "u:", "a user name must follow"),
    ("read g:", "g:", "a group name must follow"),
    ("read u:Root", "u:Root", "not a valid user name"),
    ("read u:_apt", "u:_apt", "not a valid user name"),
    ("read g:_ssh", "g:_ssh", "not a valid group name"),
    ("read u:-a", "u:-a", "not a valid user name"),
    ("read u:a:b", "u:a:b", "not a valid user name"),
    ("read g:a/b", "g:a/b", "not a valid group name"),
    (f"read u:{USER_LOOKS_VALID_BUT_ABSENT}", f"u:{USER_LOOKS_VALID_BUT_ABSENT}", "no user named"),
    (f"read g:{USER_LOOKS_VALID_BUT_ABSENT}", f"g:{USER_LOOKS_VALID_BUT_ABSENT}", "no group named"),
    ("chown - u:0", "u:0", "no user named"),
    ("Read", "Read", "not a syscall name"),
    ("READ 1", "READ", "not a syscall name"),
    ("read;", "read;", "not a syscall name"),
    ("1read", "1read", "not a syscall name"),
    ("sys-read", "sys-read", "not a syscall name"),
    ("~", "~", "a syscall name must follow ~"),
    ("~ ioctl - TIOCSTI", "~", "a syscall name must follow ~"),
    ("~~ioctl", "~~ioctl", "not a syscall name"),
    ("!read", "!read", "not a syscall name"),
    ("@unrestrict", "@unrestrict", "did you mean @unrestricted"),
    ("@complian", "@complian", "did you mean @complain"),
    ("@allow-all", "@allow-all", "unknown directive"),
    ("@unrestricted now", "now", "stands alone"),
    ("@complain 1", "1", "stands alone"),
    ("read\x0b1", "read\x0b1", "not a syscall name"),
    ("read\u00a01", "read\u00a01", "not a syscall name"),
]


def test_enough_bad_lines():
    assert len(BAD) >= 60


@pytest.mark.parametrize("line, token, reason", BAD, ids=[repr(b[0])[:40] for b in BAD])
def test_bad_line_is_refused_with_line_token_and_reason(line, token, reason):
    text = f"# a policy\nread\n{line}\nwrite\n"
    with pytest.raises(SeccompSyntaxError) as info:
        parse(text, "bad.src")
    exc = info.value
    assert isinstance(exc, SourceError) and isinstance(exc, ConfineError)
    assert exc.file == "bad.src"
    assert exc.line == 3
    shown = token if token.isprintable() else repr(token)
    assert exc.field == shown
    assert reason in exc.reason
    assert str(exc).startswith(f"bad.src:3: {shown}: ")


def test_the_first_bad_line_is_reported():
    with pytest.raises(SeccompSyntaxError) as info:
        parse("read\nread 0x1\nread AF_NOPE\n")
    assert info.value.line == 2


def test_long_tokens_are_shortened_in_messages():
    with pytest.raises(SeccompSyntaxError) as info:
        parse("read " + "X" * 500)
    assert len(info.value.field) <= 60


def test_non_text_is_refused_as_a_type_error():
    with pytest.raises(TypeError):
        parse(b"read")  # type: ignore[arg-type]


# ---- fuzzing: nothing but SeccompSyntaxError ---------------------------------------

def parse_or_refuse(text: str) -> None:
    try:
        p = parse(text, "fuzz.src")
    except SeccompSyntaxError as exc:
        assert exc.file == "fuzz.src"
        assert isinstance(exc.line, int) and 1 <= exc.line <= text.count("\n") + 1
        assert isinstance(exc.field, str) and exc.reason
        return
    for rule in p.rules + p.denials:
        assert 0 < len(rule.syscall) and len(rule.args) <= 6
        for c in rule.args:
            assert 0 <= c.index < 6 and c.op in grammar.OPS and 0 <= c.value <= M32
            assert (c.mask is not None) == (c.op == "MASKED_EQ")


PIECES = ["read", "socket", "chown", "setuid", "ioctl", "~", "@", "@unrestricted", "@complain", "u:", "g:",
          "root", "nobody", "-", "!", "<", "<=", ">", ">=", "|", "AF_INET", "SOCK_STREAM", "TIOCSTI", "CLONE_NEWNET",
          "PR_SET_NAME", "0", "1", "-1", "+1", "4294967295", "4294967296", "0x", "#", " ", " ", "\t", "\n", "\r",
          "\x00", "\x0b", "\x85", "\u00a0", "\u2028", "\ud800", "é", "Σ", "٣", "_", "a", "Z", "9"]


@settings(FUZZ, max_examples=600)
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_fuzz_grammar_pieces(text):
    parse_or_refuse(text)


@settings(FUZZ, max_examples=400)
@given(st.text(max_size=300))
def test_fuzz_any_text(text):
    parse_or_refuse(text)


TOKEN = st.one_of(
    st.sampled_from(["-", "0", "1", "-1", "+2", "007", "4294967295", "4294967296", "u:root", "g:root", "u:zz9"]),
    st.builds(lambda op, c: op + c, st.sampled_from(["", "!", "<", "<=", ">", ">=", "|"]),
              st.sampled_from(sorted(grammar.CONSTANTS))),
    st.builds(lambda op, n: f"{op}{n}", st.sampled_from(["", "!", "<", "<=", ">", ">=", "|", "u:", "g:"]),
              st.integers(min_value=-(2**40), max_value=2**40)),
    st.text(alphabet="-+!<>=|ug:0123456789xAF_", min_size=1, max_size=8),
)


@settings(FUZZ, max_examples=600)
@given(st.sampled_from(["read", "~read", "chown", "~setuid", "socket", "copy_file_range", "x"]),
       st.lists(TOKEN, max_size=8))
def test_fuzz_structured_lines(name, tokens):
    parse_or_refuse(" ".join([name, *tokens]))


# ---- reading by paragraphs is reading line by line ---------------------------------

def line_by_line(text: str, file: str = "<seccomp>") -> grammar.Policy:
    """parse() as the grammar defines it: every line on its own, in order."""
    rules, denials, unrestricted, complain = [], [], False, False
    for lineno, raw in enumerate(text.split("\n"), start=1):
        item = grammar.parse_line(raw, lineno, file)
        if item == "@unrestricted":
            unrestricted = True
        elif item == "@complain":
            complain = True
        elif item is not None:
            (denials if item.deny else rules).append(item)
    return grammar.Policy(file, tuple(rules), tuple(denials), unrestricted, complain)


def same_reading(text: str) -> None:
    try:
        expected = line_by_line(text, "a.src")
    except SeccompSyntaxError as exc:
        for _ in range(2):  # the second time from what the first one remembered
            with pytest.raises(SeccompSyntaxError) as info:
                parse(text, "a.src")
            assert (info.value.file, info.value.line, info.value.field) == (exc.file, exc.line, exc.field)
        return
    for _ in range(2):
        got = parse(text, "a.src")
        assert got == expected
        assert [r.text for r in got.rules + got.denials] == [r.text for r in expected.rules + expected.denials]


def test_paragraphs_read_as_lines():
    from backends.native.seccomp.template import TEMPLATE

    texts = [TEMPLATE, "", "\n", "\n\n", "\n\n\n", "read", "read\n\nwrite", "\n\nread\n\n\n\nwrite 1\n\n",
             "read\r\n\r\nwrite\r\n", "read\n \n\nwrite\n\t\n", "@complain\n\nread\n\n~ioctl - TIOCSTI\n\n@unrestricted"]
    for text in texts:
        same_reading(text)
    # the same paragraphs at other lines: line numbers follow
    for shift in range(4):
        same_reading("\n" * shift + TEMPLATE + "\n\nsocket AF_INET\n\nread 0x10\n")
        same_reading("# head\n" * shift + "\n\n" + TEMPLATE)
    # a paragraph naming a user is read afresh each time
    parse("read\n\nsetuid u:root\n")
    assert not any("u:root" in block for _, block in grammar._block_cache)


@settings(FUZZ, max_examples=400)
@given(st.lists(st.sampled_from(["read", "write 1", "~ioctl - TIOCSTI", "", " ", "# c", "@complain", "socket AF_NOPE",
                                 "\r", "read 0x1", "setuid u:root", "@unrestricted", "chown - -1"]), max_size=30))
def test_fuzz_paragraphs_read_as_lines(lines):
    same_reading("\n".join(lines))


def test_rules_and_policies_are_values():
    import copy
    import pickle

    p = parse("read 1\n~ioctl - TIOCSTI errno=ENOSYS\n", "a.src")
    rule, cond = p.rules[0], p.rules[0].args[0]
    assert cond == ArgCond(0, "EQ", 1) and hash(cond) == hash(ArgCond(0, "EQ", 1, None, "other token"))
    assert rule == grammar.Rule("read", (cond,), 1) and rule != grammar.Rule("read", (cond,), 2)
    assert rule != ("read", (cond,), 1) and (rule == object()) is False
    assert repr(cond) == "ArgCond(index=0, op='EQ', value=1, mask=None, token='1')"
    assert repr(rule).startswith("Rule(syscall='read', args=(ArgCond(") and "text='read 1', errno=None)" in repr(rule)
    for value in (p, rule, cond):
        assert pickle.loads(pickle.dumps(value)) == value == copy.deepcopy(value)
        assert hash(copy.copy(value)) == hash(value)
        with pytest.raises(AttributeError):
            value.line = 3
        with pytest.raises(AttributeError):
            del value.__dict__
    assert {p: 1}[parse("read 1\n~ioctl - TIOCSTI errno=ENOSYS\n", "a.src")] == 1
    assert p.syscalls() == {"read", "ioctl"} and p.denials[0].errno == 38
