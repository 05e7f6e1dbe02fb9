"""Text that could break out of a generated profile never gets past the manifest parser.

Names and attribute values holding a newline, quotes, braces, a comma, `#`, `@{`,
`..`, NUL or a backslash are refused with a ManifestError naming the field; and every
string that a manifest gets accepted with satisfies names.unsafe_piece() is None.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.errors import ManifestError
from backends.native import names
from backends.native.interfaces.catalogue import load_catalogue
from backends.native.manifest import parse_text, read_manifest

CAT = load_catalogue()
EXAMPLES = Path(__file__).resolve().parent.parent / "backends" / "native" / "examples"
H = "name: foo\nversion: '1.0'\n"

PIECES = ["\n", "\r", '"', "'", "{", "}", ",", "#", "@{", "..", "\0", "\\", "`", "$("]
PIECE_IDS = ["newline", "cr", "dquote", "squote", "lbrace", "rbrace", "comma", "hash", "at-brace",
             "dotdot", "nul", "backslash", "backtick", "dollar-paren"]


def q(text: str) -> str:
    """A YAML double-quoted scalar holding `text` exactly (JSON strings are valid YAML)."""
    return json.dumps(text)


# --- attribute values -----------------------------------------------------------------

# A value each string-like attribute accepts; the bad value is made by inserting a piece.
GOOD = {
    ("content", "plug", "content"): "docs",
    ("content", "plug", "target"): "$SNAP/data",
    ("content", "plug", "default-provider"): "provider",
    ("content", "slot", "content"): "docs",
    ("content", "slot", "read"): "$SNAP/share",
    ("content", "slot", "write"): "$SNAP_DATA/share",
    ("hidraw", "slot", "path"): "/dev/hidraw0",
    ("home", "plug", "read"): "all",
    ("personal-files", "plug", "read"): "$HOME/.config/app",
    ("personal-files", "plug", "write"): "$HOME/.config/app",
    ("serial-port", "slot", "path"): "/dev/ttyUSB0",
    ("shared-memory", "plug", "shared-memory"): "bus",
    ("shared-memory", "slot", "shared-memory"): "bus",
    ("shared-memory", "slot", "read"): "bus-obj",
    ("shared-memory", "slot", "write"): "bus-obj",
    ("system-files", "plug", "read"): "/etc/app.conf",
    ("system-files", "plug", "write"): "/var/lib/app",
}
GENERIC = {"path": "/dev/thing0", "string": "value", "list": "/dev/thing0"}


def _text_attributes():
    """Every string, path or list attribute of the catalogue: (interface, side, attr, spec)."""
    out = []
    for iface in CAT.values():
        for side, schema in (("plug", iface.plug_attributes), ("slot", iface.slot_attributes)):
            for aname, spec in schema.items():
                if spec["type"] in ("string", "path", "list"):
                    out.append((iface.name, side, aname, spec))
    return out


TEXT_ATTRS = _text_attributes()


def test_every_text_attribute_kind_is_covered():
    """The hand-picked good values cover the interfaces this test was written against."""
    wanted = {("personal-files", "plug", "write"), ("system-files", "plug", "read"),
              ("content", "plug", "target"), ("content", "plug", "content"), ("serial-port", "slot", "path")}
    assert wanted <= {(i, s, a) for i, s, a, _ in TEXT_ATTRS}


def _good(iface, side, aname, spec):
    return GOOD.get((iface, side, aname), GENERIC[spec["type"]])


def _endpoint_yaml(iface: str, side: str, aname: str, value) -> str:
    """A manifest with one plug or slot `e` of `iface`, its required attributes filled in."""
    schema = CAT[iface].plug_attributes if side == "plug" else CAT[iface].slot_attributes
    attrs = {aname: value}  # first, on line 6
    attrs.update({a: ([_good(iface, side, a, s)] if s["type"] == "list" else _good(iface, side, a, s))
                  for a, s in schema.items() if s.get("required") and a != aname})
    lines = [f"{side}s:", "  e:", f"    interface: {iface}"]
    lines += [f"    {a}: {json.dumps(v)}" for a, v in attrs.items()]
    return H + "\n".join(lines) + "\n"


def _value(spec, text):
    return [text] if spec["type"] == "list" else text


@pytest.mark.parametrize("iface, side, aname, spec", TEXT_ATTRS, ids=[f"{i}-{s}-{a}" for i, s, a, _ in TEXT_ATTRS])
def test_good_value_is_accepted(iface, side, aname, spec):
    """The base values are valid, so a refusal below is due to the inserted piece."""
    if (iface, side, aname) not in GOOD:
        pytest.skip("no hand-picked good value for this attribute")
    record = parse_text(_endpoint_yaml(iface, side, aname, _value(spec, _good(iface, side, aname, spec))), CAT)
    assert record[f"{side}s"]["e"]["attrs"][aname] == _value(spec, _good(iface, side, aname, spec))


@pytest.mark.parametrize("piece", PIECES, ids=PIECE_IDS)
@pytest.mark.parametrize("iface, side, aname, spec", TEXT_ATTRS, ids=[f"{i}-{s}-{a}" for i, s, a, _ in TEXT_ATTRS])
@pytest.mark.parametrize("where", ["end", "middle"])
def test_attribute_value_with_unsafe_piece_is_refused(iface, side, aname, spec, piece, where):
    good = _good(iface, side, aname, spec)
    bad = good + piece if where == "end" else good[:2] + piece + good[2:]
    with pytest.raises(ManifestError) as info:
        parse_text(_endpoint_yaml(iface, side, aname, _value(spec, bad)), CAT, file="meta/snap.yaml")
    assert info.value.field == f"{side}s.e.{aname}", str(info.value)
    assert info.value.file == "meta/snap.yaml"
    assert info.value.line == 6


@pytest.mark.parametrize("piece", PIECES, ids=PIECE_IDS)
def test_unsafe_piece_in_second_list_item_is_refused(piece):
    text = H + "plugs:\n  pf:\n    interface: personal-files\n    write:\n      - $HOME/.a\n" \
               f"      - {q('$HOME/.b' + piece)}\n"
    with pytest.raises(ManifestError) as info:
        parse_text(text, CAT)
    assert info.value.field == "plugs.pf.write"
    assert "item 2" in str(info.value)


@pytest.mark.parametrize("text, field", [
    (H + "plugs:\n  pf:\n    interface: personal-files\n    write: ['/etc/shadow']\n", "plugs.pf.write"),
    (H + "plugs:\n  pf:\n    interface: personal-files\n    read: ['$HOME']\n", "plugs.pf.read"),
    (H + "plugs:\n  sf:\n    interface: system-files\n    read: ['$HOME/.ssh']\n", "plugs.sf.read"),
    (H + "plugs:\n  sf:\n    interface: system-files\n    write: ['/']\n", "plugs.sf.write"),
    (H + "plugs:\n  sf:\n    interface: system-files\n    write: ['//etc']\n", "plugs.sf.write"),
    (H + "slots:\n  sp:\n    interface: serial-port\n    path: /etc/passwd\n", "slots.sp.path"),
    (H + "slots:\n  h:\n    interface: hidraw\n    path: /dev/sda\n", "slots.h.path"),
    (H + "plugs:\n  c:\n    interface: content\n    target: relative/dir\n", "plugs.c.target"),
    (H + "slots:\n  m:\n    interface: shared-memory\n    write: ['a/b']\n", "slots.m.write"),
    (H + "slots:\n  m:\n    interface: shared-memory\n    write: ['**']\n", "slots.m.write"),
], ids=["personal-files-outside-home", "personal-files-home-itself", "system-files-under-home",
        "system-files-root", "system-files-double-slash", "serial-port-not-a-tty", "hidraw-not-hidraw",
        "content-target-relative", "shared-memory-slash", "shared-memory-double-star"])
def test_path_outside_what_the_interface_allows_is_refused(text, field):
    with pytest.raises(ManifestError) as info:
        parse_text(text, CAT)
    assert info.value.field == field, str(info.value)


# --- names ----------------------------------------------------------------------------

def _names_cases():
    """(id, make(bad) -> yaml, field(bad) -> expected field, base)"""
    return [
        ("snap-name", lambda b: f"name: {q(b)}\nversion: '1'\n", lambda b: "name", "foo"),
        ("base-name", lambda b: H + f"base: {q(b)}\n", lambda b: "base", "core22"),
        ("app-name", lambda b: H + f"apps:\n  {q(b)}:\n    command: bin/a\n", lambda b: f"apps.{b}", "app"),
        ("hook-name", lambda b: H + f"hooks:\n  {q(b)}: {{}}\n", lambda b: f"hooks.{b}", "install"),
        ("plug-name", lambda b: H + f"plugs:\n  {q(b)}: network\n", lambda b: f"plugs.{b}", "net"),
        ("slot-name", lambda b: H + f"slots:\n  {q(b)}: docker\n", lambda b: f"slots.{b}", "api"),
        ("interface-name", lambda b: H + f"plugs:\n  p:\n    interface: {q(b)}\n", lambda b: "plugs.p.interface",
         "network"),
        ("interface-as-string", lambda b: H + f"plugs:\n  p: {q(b)}\n", lambda b: "plugs.p", "network"),
        ("attribute-name", lambda b: H + f"plugs:\n  p:\n    interface: browser-support\n    {q(b)}: true\n",
         lambda b: f"plugs.p.{b}", "allow-sandbox"),
        ("app-plug-name", lambda b: H + f"apps:\n  a:\n    command: bin/a\n    plugs: [{q(b)}]\n",
         lambda b: "apps.a.plugs.0", "network"),
        ("app-slot-name", lambda b: H + f"apps:\n  a:\n    command: bin/a\n    slots: [{q(b)}]\n",
         lambda b: "apps.a.slots.0", "docker"),
        ("hook-plug-name", lambda b: H + f"hooks:\n  install:\n    plugs: [{q(b)}]\n",
         lambda b: "hooks.install.plugs.0", "network"),
        ("command", lambda b: H + f"apps:\n  a:\n    command: {q(b)}\n", lambda b: "apps.a.command", "bin/app"),
        ("daemon", lambda b: H + f"apps:\n  a:\n    command: bin/a\n    daemon: {q(b)}\n",
         lambda b: "apps.a.daemon", "simple"),
        ("version", lambda b: f"name: foo\nversion: {q(b)}\n", lambda b: "version", "1.0"),
    ]


NAME_CASES = _names_cases()


@pytest.mark.parametrize("make, field, base", [c[1:] for c in NAME_CASES], ids=[c[0] for c in NAME_CASES])
def test_good_name_is_accepted(make, field, base):
    parse_text(make(base), CAT)


@pytest.mark.parametrize("piece", PIECES, ids=PIECE_IDS)
@pytest.mark.parametrize("make, field, base", [c[1:] for c in NAME_CASES], ids=[c[0] for c in NAME_CASES])
def test_name_with_unsafe_piece_is_refused(make, field, base, piece):
    if field("") == "version" and piece == "..":
        pytest.skip("snapd's version rule allows '1..2'; a version never reaches a profile")
    bad = base[:2] + piece + base[2:]
    with pytest.raises(ManifestError) as info:
        parse_text(make(bad), CAT)
    assert info.value.field == field(bad), str(info.value)
    assert info.value.line is not None


# --- whatever is accepted is safe -----------------------------------------------------

def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


# shown to people, never put in a profile (a version may hold '..', as snapd allows)
FREE_TEXT = ("summary", "description", "title", "version")


def assert_record_safe(record: dict) -> None:
    """Every string of an accepted record but the free text is safe for generated text."""
    for key, value in record.items():
        if key in FREE_TEXT:
            continue
        for text in _strings(value):
            assert names.unsafe_piece(text) is None, (key, text)
    for kind in ("plugs", "slots"):
        for ename, entry in record[kind].items():
            assert names.check_plug_name(ename) is None
            assert entry["interface"] in CAT
            for text in _strings(entry["attrs"]):
                assert names.unsafe_piece(text) is None, (kind, ename, text)


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.iterdir() if (p / "meta" / "snap.yaml").is_file()))
def test_examples_are_safe(example):
    assert_record_safe(read_manifest(EXAMPLES / example, CAT))


# characters around the unsafe ones, so that accepted values are common too
ALPHABET = list("abcxyz019/._-*?+~[]$:@ ") + ["\n", "\r", '"', "'", "{", "}", ",", "#", "\0", "\\", "`",
                                                 "(", "\t", "\x7f", "\x1b", "é"]
PREFIXES = ["", "/", "/dev/", "/dev/tty", "/dev/ttyUSB", "/dev/hidraw", "$HOME/", "$SNAP/", "$SNAP_DATA/", "/etc/"]


@st.composite
def attribute_text(draw):
    return draw(st.sampled_from(PREFIXES)) + draw(st.text(alphabet=ALPHABET, max_size=12))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.sampled_from(TEXT_ATTRS), text=attribute_text(), as_list=st.booleans())
def test_accepted_attribute_values_are_safe(target, text, as_list):
    iface, side, aname, spec = target
    value = [text] if (spec["type"] == "list" or as_list) else text
    try:
        record = parse_text(_endpoint_yaml(iface, side, aname, value), CAT)
    except ManifestError as exc:
        assert exc.field.startswith(f"{side}s.e"), str(exc)
        return
    assert_record_safe(record)
    assert record[f"{side}s"]["e"]["attrs"][aname] == value


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(NAME_CASES), text=st.text(alphabet=ALPHABET, min_size=1, max_size=10))
def test_accepted_names_are_safe(kind, text):
    _, make, _field, _base = kind
    try:
        record = parse_text(make(text), CAT)
    except ManifestError:
        return
    assert_record_safe(record)
