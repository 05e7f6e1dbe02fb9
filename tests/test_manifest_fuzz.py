"""Fuzzing the snap.yaml parser: it accepts or refuses with a ManifestError, nothing else."""
from __future__ import annotations

import json

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from backends.errors import ConfineError, ManifestError
from backends.native import names
from backends.native.interfaces.catalogue import attribute_error, load_catalogue
from backends.native.manifest import parse_text, snap_from_record

CAT = load_catalogue()
IFACES = sorted(CAT)
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def parse_or_refuse(data):
    """Parse; a refusal must be a ManifestError with a usable file, line and field."""
    try:
        return parse_text(data, CAT, file="meta/snap.yaml")
    except ManifestError as exc:
        assert exc.file == "meta/snap.yaml"
        assert exc.line is None or (isinstance(exc.line, int) and exc.line >= 1)
        assert isinstance(exc.field, str)
        assert str(exc).startswith("meta/snap.yaml")
        return None
    except ConfineError as exc:  # pragma: no cover - reported as a failure below
        raise AssertionError(f"a {type(exc).__name__} instead of a ManifestError: {exc}") from exc


# --- (a) arbitrary input --------------------------------------------------------------

@settings(FUZZ, max_examples=400)
@given(st.binary(max_size=600))
def test_arbitrary_bytes(data):
    parse_or_refuse(data)


YAMLISH = list("abnmesvrio-_01.: \n\n  \t[]{},&*!|>'\"#%@`?~\\") + ["\0", "\xff", "é", "\r"]


@settings(FUZZ, max_examples=400)
@given(st.text(alphabet=YAMLISH, max_size=300))
def test_yamlish_text(text):
    parse_or_refuse(text.encode("utf-8", "surrogatepass"))


@settings(FUZZ, max_examples=200)
@given(prefix=st.sampled_from(["name: foo\nversion: '1'\n", "name: foo\nversion: '1'\nplugs:\n  ",
                               "name: foo\nversion: '1'\napps:\n  a:\n    command: bin/a\n    ",
                               "name: foo\nversion: '1'\nplugs:\n  p:\n    interface: content\n    "]),
       tail=st.text(alphabet=YAMLISH, max_size=120))
def test_valid_prefix_then_noise(prefix, tail):
    parse_or_refuse(prefix + tail)


# --- (b) structured: documents resembling snap.yaml -----------------------------------

class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


VALID_NAME = st.from_regex(r"\A[a-z](?:-?[a-z0-9]){1,12}\Z")
APP_NAME_RE = st.from_regex(r"\A[A-Za-z0-9](?:-?[A-Za-z0-9]){0,10}\Z")
JUNK = st.text(alphabet=list("aZ0-_. /\n'\"{},#@$\\é"), max_size=10)
NAME = st.one_of(VALID_NAME, VALID_NAME, st.sampled_from(IFACES), JUNK, st.sampled_from(["system", "a", "-a", "a--b"]))

SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70),
                   st.floats(allow_nan=True, allow_infinity=True), JUNK,
                   st.sampled_from(["$HOME/.config/x", "/dev/ttyUSB0", "/dev/hidraw1", "/etc/x.conf", "$SNAP/data",
                                    "all", "docs", "provider", "obj-*", "/", "$HOME", "yes", "true"]))
VALUE = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                     st.dictionaries(JUNK, inner, max_size=2)), max_leaves=6)


@st.composite
def endpoint(draw):
    iface = draw(st.sampled_from(IFACES))
    form = draw(st.sampled_from(["null", "string", "map", "map", "map"]))
    if form == "null":
        return None
    if form == "string":
        return iface
    schema = dict(CAT[iface].plug_attributes)
    schema.update(CAT[iface].slot_attributes)
    known = sorted(schema)
    attrs = {}
    if draw(st.booleans()):
        attrs["interface"] = iface
    for aname in draw(st.lists(st.one_of(st.sampled_from(known or ["x"]), NAME), max_size=3)):
        spec = schema.get(aname)
        if spec is not None and draw(st.booleans()):  # a value of the right type, often
            kind = spec["type"]
            attrs[aname] = draw({"bool": st.booleans(), "int": st.integers(0, 0xFFFF),
                                 "string": SCALAR, "path": SCALAR, "list": st.lists(SCALAR, max_size=3)}[kind])
        else:
            attrs[aname] = draw(VALUE)
    return attrs


@st.composite
def snap_yaml(draw):
    doc = {}
    if draw(st.integers(0, 9)):
        doc["name"] = draw(st.one_of(VALID_NAME, VALID_NAME, VALID_NAME, NAME, SCALAR))
    if draw(st.integers(0, 9)):
        doc["version"] = draw(st.one_of(st.sampled_from(["1.0", "2", "1.2.3~beta+1", "1..2"]), SCALAR))
    for key, choices in (("confinement", ["strict", "devmode", "classic", "loose"]),
                         ("type", ["app", "gadget", "kernel", "base", "os", "snapd", "lib"]),
                         ("base", ["core22", "Core", "core22-desktop"]),
                         ("summary", ["s", "x" * 200]), ("grade", ["stable"])):
        if draw(st.booleans()):
            doc[key] = draw(st.one_of(st.sampled_from(choices), SCALAR))
    plug_names = draw(st.lists(NAME, max_size=4, unique=True))
    slot_names = draw(st.lists(NAME, max_size=3, unique=True))
    if plug_names or draw(st.booleans()):
        doc["plugs"] = {n: draw(endpoint()) for n in plug_names}
    if slot_names:
        doc["slots"] = {n: draw(endpoint()) for n in slot_names}
    referable = plug_names + slot_names + IFACES
    if draw(st.booleans()):
        apps = {}
        for aname in draw(st.lists(st.one_of(APP_NAME_RE, NAME), max_size=3, unique=True)):
            app = {}
            if draw(st.integers(0, 5)):
                app["command"] = draw(st.one_of(st.sampled_from(["bin/a", "bin/a --x=1", "$SNAP/bin/a", "bin/../a",
                                                                 "/bin/sh", "bin/a 'x'"]), SCALAR))
            if draw(st.booleans()):
                app["daemon"] = draw(st.one_of(st.sampled_from(["simple", "forking", "oneshot", "notify", "dbus",
                                                                "sometimes"]), SCALAR))
            for kind in ("plugs", "slots"):
                if draw(st.booleans()):
                    app[kind] = draw(st.one_of(st.lists(st.sampled_from(referable), max_size=4), VALUE))
            apps[aname] = app
        doc["apps"] = apps
    if draw(st.booleans()):
        doc["hooks"] = {h: (None if draw(st.booleans()) else
                            {"plugs": draw(st.lists(st.sampled_from(referable), max_size=3))})
                        for h in draw(st.lists(st.sampled_from(["install", "configure", "remove", "Bad"]),
                                               max_size=2, unique=True))}
    return doc


def check_record(record: dict) -> None:
    """What an accepted manifest must satisfy."""
    assert names.check_snap_name(record["name"]) is None
    assert record["name"] != "system"
    assert names.check_version(record["version"]) is None
    assert record["confinement"] in ("strict", "devmode", "classic")
    for app, spec in record["apps"].items():
        assert names.check_app_name(app) is None
        assert names.COMMAND.fullmatch(spec["command"]) and ".." not in spec["command"]
        assert not spec["command"].startswith("/")
    for hook in record["hooks"]:
        assert names.check_plug_name(hook) is None
    assert not set(record["plugs"]) & set(record["slots"])
    for kind, side in (("plugs", "plug"), ("slots", "slot")):
        for ename, entry in record[kind].items():
            assert names.check_plug_name(ename) is None
            iface = CAT[entry["interface"]]
            schema = iface.plug_attributes if side == "plug" else iface.slot_attributes
            for aname, value in entry["attrs"].items():
                assert aname in schema
                assert attribute_error(schema[aname], value) is None, (ename, aname, value)
                for text in ([value] if isinstance(value, str) else value if isinstance(value, list) else []):
                    assert names.unsafe_piece(text) is None
            for aname, spec in schema.items():
                if spec.get("required"):
                    assert aname in entry["attrs"]
            # binding is consistent both ways
            for app in entry["apps"]:
                assert ename in record["apps"][app][kind]
            for hook in entry["hooks"]:
                assert ename in record["hooks"][hook][kind]
        for owner in ("apps", "hooks"):
            for uname, spec in record[owner].items():
                for ename in spec[kind]:
                    assert ename in record[kind], (owner, uname, ename)
                    assert uname in record[kind][ename][owner]
    json.dumps(record)  # the record is stored in state.json
    snap_from_record(record)


@settings(FUZZ, max_examples=300)
@given(snap_yaml())
def test_structured(doc):
    try:
        text = yaml.dump(doc, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=False)
    except yaml.YAMLError:
        assume(False)
    record = parse_or_refuse(text)
    if record is not None:
        check_record(record)


@settings(FUZZ, max_examples=200)
@given(snap_yaml())
def test_structured_valid_header(doc):
    """As above, but with a valid name and version, so that the deeper checks are reached."""
    header = {"name": "fuzz-snap", "version": "1.0", "confinement": "strict", "type": "app", "base": "core22",
              "summary": "fuzz"}
    doc = {**header, **{k: v for k, v in doc.items() if k not in header}}
    record = parse_or_refuse(yaml.dump(doc, Dumper=_NoAliasDumper, sort_keys=False))
    if record is not None:
        check_record(record)
