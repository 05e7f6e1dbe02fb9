"""Malformed snap.yaml files: each is refused with a ManifestError naming file, line and field.

Every case is checked through the API (read_manifest on a directory, and parse_text on
the bytes), and a representative subset through the command line, where the state
directory must be byte-for-byte as before.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from backends.errors import ManifestError
from backends.native.interfaces.catalogue import load_catalogue
from backends.native.manifest import parse_text, read_manifest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "backends" / "native" / "examples"
H = "name: foo\nversion: '1.0'\n"  # lines 1-2 of most cases


class WrongField(AssertionError):
    """The error named another field than expected (a known defect is xfailed on this alone)."""


class WrongLine(AssertionError):
    """The error named another line than expected (a known defect is xfailed on this alone)."""




def _deep(n: int) -> str:
    return "[" * n


BILLION_LAUGHS = H + (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
)

BIG = 50 * 1024 * 1024


def _big() -> bytes:
    return (H + "description: |\n").encode() + b"  " + b"x" * BIG + b"\n"


# id, data (str, bytes, or a callable returning bytes), line, field, message fragment[, marks]
CASES = [
    # --- snap name -------------------------------------------------------------
    ("name-uppercase", "name: Foo\nversion: '1'\n", 1, "name", "lowercase letters"),
    ("name-leading-dash", "name: -foo\nversion: '1'\n", 1, "name", "single dashes"),
    ("name-trailing-dash", "name: foo-\nversion: '1'\n", 1, "name", "single dashes"),
    ("name-double-dash", "name: fo--o\nversion: '1'\n", 1, "name", "single dashes"),
    ("name-one-char", "name: a\nversion: '1'\n", 1, "name", "2 to 40 characters"),
    ("name-41-chars", "version: '1'\nname: " + "a" * 41 + "\n", 2, "name", "2 to 40 characters"),
    ("name-digits-only", "name: '123'\nversion: '1'\n", 1, "name", "at least one letter"),
    ("name-integer", "version: '1'\nname: 123\n", 2, "name", "must be text"),
    ("name-underscore", "name: foo_bar\nversion: '1'\n", 1, "name", "single dashes"),
    ("name-system", "version: '1'\nname: system\n", 2, "name", "reserved for the system snap"),
    ("name-missing", "# a comment\n\nversion: '1'\nsummary: x\n", 3, "name", "is required"),
    ("name-null", "name:\nversion: '1'\n", 1, "name", "is required"),
    # --- version, confinement, type, base, summary -------------------------------
    ("version-missing", "\nname: foo\nsummary: x\n", 2, "version", "is required"),
    ("version-space", "name: foo\nversion: '1.0 beta'\n", 2, "version", "invalid version"),
    ("version-33-chars", "name: foo\nversion: '" + "1" * 33 + "'\n", 2, "version", "invalid version"),
    ("version-list", "name: foo\nversion: [1]\n", 2, "version", "must be text"),
    ("version-leading-dot", "name: foo\nversion: '.1'\n", 2, "version", "invalid version"),
    ("confinement-bad", H + "confinement: loose\n", 3, "confinement", "must be one of strict"),
    ("type-bad", H + "summary: s\ntype: library\n", 4, "type", "must be one of app"),
    ("base-bad", H + "base: Core22\n", 3, "base", "lowercase letters"),
    ("summary-not-text", H + "summary: [a, b]\n", 3, "summary", "must be text"),
    ("summary-too-long", H + "summary: " + "s" * 129 + "\n", 3, "summary", "more than 128"),
    # --- plugs and slots ----------------------------------------------------------
    ("plug-unknown-interface", H + "plugs:\n  foo-bar: {}\n", 4, "plugs.foo-bar", "unknown interface 'foo-bar'"),
    ("plug-unknown-interface-key", H + "plugs:\n  x:\n    interface: nosuch\n", 5, "plugs.x.interface",
     "unknown interface 'nosuch'"),
    ("plug-unknown-interface-string", H + "plugs:\n  x: nosuch\n", 4, "plugs.x", "unknown interface 'nosuch'"),
    ("slot-unknown-interface", H + "slots:\n  s:\n    interface: nosuch\n", 5, "slots.s.interface",
     "unknown interface"),
    ("plug-name-bad", H + "plugs:\n  Net: network\n", 4, "plugs.Net", "invalid plug name"),
    ("plug-spec-int", H + "plugs:\n  x: 5\n", 4, "plugs.x", "interface name or a map"),
    ("plugs-not-map", H + "plugs: [network]\n", 3, "plugs", "must be a map"),
    ("docker-privileged-string", H + "plugs:\n  docker-support:\n    privileged-containers: \"yes\"\n", 5,
     "plugs.docker-support.privileged-containers", "must be true or false, not 'yes'"),
    ("browser-sandbox-int", H + "plugs:\n  bs:\n    interface: browser-support\n    allow-sandbox: 1\n", 6,
     "plugs.bs.allow-sandbox", "must be true or false, not 1"),
    ("attribute-unknown", H + "plugs:\n  bs:\n    interface: browser-support\n    colour: red\n", 6,
     "plugs.bs.colour", "unknown attribute"),
    ("attribute-int-as-text", H + "slots:\n  sp:\n    interface: serial-port\n    path: /dev/ttyUSB0\n"
     "    usb-vendor: '0x0403'\n", 7, "slots.sp.usb-vendor", "whole number"),
    ("attribute-required-missing", H + "plugs:\n  docs:\n    interface: content\n    content: docs\n", 4,
     "plugs.docs", "required"),
    ("attribute-list-not-list", H + "plugs:\n  pf:\n    interface: personal-files\n    write: $HOME/.x\n", 6,
     "plugs.pf.write", "non-empty list"),
    ("attribute-path-relative", H + "slots:\n  sp:\n    interface: serial-port\n    path: dev/ttyS0\n", 6,
     "slots.sp.path", "not an accepted path"),
    ("attribute-enum", H + "plugs:\n  home:\n    read: everything\n", 5, "plugs.home.read", "must be one of all"),
    ("attribute-name-bad", H + "plugs:\n  bs:\n    interface: browser-support\n    Allow: true\n", 6,
     "plugs.bs.Allow", "invalid attribute name"),
    ("plug-duplicate-key", H + "plugs:\n  network: {}\n  camera:\n  network: {}\n", 6, "plugs.network",
     "duplicate key 'network'"),
    ("top-duplicate-key", H + "summary: x\nname: bar\n", 4, "name", "duplicate key 'name'"),
    ("plug-and-slot-same-name", H + "plugs:\n  x:\n    interface: network\nslots:\n  x:\n    interface: docker\n",
     7, "slots.x", "both a plug and a slot"),
    # --- apps and hooks -------------------------------------------------------------
    ("app-no-command", H + "apps:\n  a:\n    daemon: simple\n", 4, "apps.a.command", "is required"),
    ("app-empty-command", H + "apps:\n  a:\n    command: '  '\n", 5, "apps.a.command", "is required"),
    ("app-null", H + "apps:\n  a:\n", 4, "apps.a", "must be a map"),
    ("command-dotdot", H + "apps:\n  a:\n    command: bin/../../etc/x\n", 5, "apps.a.command", "'..'"),
    ("command-double-quote", H + "apps:\n  a:\n    command: bin/a \"x y\"\n", 5, "apps.a.command", "no quotes"),
    ("command-single-quote", H + "apps:\n  a:\n    command: \"bin/a 'x'\"\n", 5, "apps.a.command", "no quotes"),
    ("command-absolute", H + "apps:\n  a:\n    command: /bin/sh\n", 5, "apps.a.command", "relative path"),
    ("command-shell", H + "apps:\n  a:\n    command: bin/a; rm -rf /\n", 5, "apps.a.command", "shell syntax"),
    ("daemon-bad", H + "apps:\n  a:\n    command: bin/a\n    daemon: sometimes\n", 6, "apps.a.daemon",
     "must be one of simple"),
    ("app-plugs-not-list", H + "apps:\n  a:\n    command: bin/a\n    plugs: network\n", 6, "apps.a.plugs",
     "must be a list"),
    ("app-plug-unknown-interface", H + "apps:\n  a:\n    command: bin/a\n    plugs: [network, nosuch]\n", 6,
     "apps.a.plugs.1", "unknown interface 'nosuch'"),
    ("app-plug-listed-twice", H + "apps:\n  a:\n    command: bin/a\n    plugs:\n      - network\n      - network\n",
     8, "apps.a.plugs.1", "listed twice"),
    ("app-plug-is-slot", H + "slots:\n  api: docker\napps:\n  a:\n    command: bin/a\n    plugs: [api]\n", 8,
     "apps.a.plugs.0", "declared as a slot"),
    ("app-plug-needs-attrs", H + "apps:\n  a:\n    command: bin/a\n    plugs: [content]\n", 6,
     "apps.a.plugs.0", "target"),
    ("app-plug-name-int", H + "apps:\n  a:\n    command: bin/a\n    plugs: [1]\n", 6, "apps.a.plugs.0",
     "must be text"),
    ("app-name-bad", H + "apps:\n  a_b:\n    command: bin/a\n", 4, "apps.a_b", "invalid app name"),
    ("apps-not-map", H + "apps: [a]\n", 3, "apps", "must be a map"),
    ("hook-name-bad", H + "hooks:\n  Install: {}\n", 4, "hooks.Install", "invalid hook name"),
    ("hook-plug-unknown", H + "hooks:\n  install:\n    plugs: [nosuch]\n", 5, "hooks.install.plugs.0",
     "unknown interface"),
    # --- YAML itself ----------------------------------------------------------------
    ("yaml-unclosed-bracket", H + "plugs: [network\n", 4, "plugs", "YAML syntax error"),
    ("yaml-bad-indentation", H + "apps:\n  a:\n    command: bin/a\n   daemon: simple\n", 6, "apps",
     "YAML syntax error"),
    ("yaml-tab-indentation", H + "apps:\n\ta:\n\t\tcommand: bin/a\n", 4, "", "YAML syntax error"),
    ("yaml-key-null", H + "plugs:\n  ~: network\n", 4, "plugs", "mapping key must be text"),
    ("yaml-key-complex", H + "plugs:\n  ? [a, b]\n  : network\n", 4, "plugs", "mapping key must be a plain value"),
    ("yaml-two-documents", H + "---\nname: bar\n", 4, "", "more than one YAML document"),
    ("non-utf8", H + "summary: caf\xe9\n", 3, "", "not valid UTF-8"),
    ("non-utf8-later", H + "summary: s\ndescription: |\n  ok\n  bad \xff\xfe\n", 6, "", "not valid UTF-8"),
    ("nul-byte", H + "summary: a\0b\n", 3, "", "NUL byte"),
    ("oversized-50MB", _big, None, "", "1048576"),
    ("deep-nesting-10000", _deep(10_000), 1, "0.0.0.0.....0.0", "nested deeper than"),
    ("deep-nesting-in-plug", H + "plugs:\n  x:\n    interface: network\n    a: " + "{a: " * 100 + "1" + "}" * 100 + "\n",
     6, "plugs.x.a.a.....a.a", "nested deeper than"),
    ("too-many-nodes", H + "x: [" + "1," * 100_001 + "1]\n", 3, "", "more than 100000 YAML nodes"),
    ("billion-laughs", BILLION_LAUGHS, 3, "a", "anchors are not allowed"),
    ("alias-without-anchor", H + "summary: *x\n", 3, "summary", "aliases are not allowed"),
    ("anchor-in-plug", H + "plugs:\n  x: &n network\n", 4, "plugs.x", "anchors are not allowed"),
    ("tag-python-object", H + "summary: !!python/object:os.system x\n", 3, "summary", "explicit YAML tag",
     ),
    ("tag-python-apply", H + "plugs:\n  x: !!python/object/apply:os.system [id]\n", 4, "plugs.x",
     "explicit YAML tag"),
    ("tag-str", H + "apps:\n  a:\n    command: !!str bin/a\n", 5, "apps.a.command", "explicit YAML tag",
     ),
    ("control-character", H + "summary: a\x1bb\n", 3, "", "control character U+001B"),
    # --- the top level --------------------------------------------------------------
    ("top-level-list", "- name: foo\n- version: '1'\n", 1, "", "must be a map of fields"),
    ("top-level-scalar", "\n\nfoo\n", 3, "", "must be a map of fields"),
    ("empty-file", "", 1, "", "must be a map of fields"),
    ("comments-only", "# nothing\n# here\n", 1, "", "must be a map of fields"),
]

assert len(CASES) >= 35


def _params(cases):
    out = []
    for case in cases:
        cid, data, line, field, fragment, *marks = case
        out.append(pytest.param(data, line, field, fragment, id=cid, marks=marks))
    return out


def _bytes(data) -> bytes:
    if callable(data):
        return data()
    if isinstance(data, str):
        # latin-1 keeps the \xe9, \xff bytes of the non-UTF-8 cases as single bytes;
        # every other case is ASCII, for which latin-1 and UTF-8 agree
        return data.encode("latin-1")
    return data


def check_error(exc: ManifestError, line, field, fragment, file_suffix="snap.yaml") -> None:
    assert isinstance(exc, ManifestError)
    assert exc.file.endswith(file_suffix), exc.file
    assert fragment in str(exc), str(exc)
    if exc.line != line:
        raise WrongLine(f"line {exc.line!r}, expected {line!r}: {exc}")
    if exc.field != field:
        raise WrongField(f"field {exc.field!r}, expected {field!r}: {exc}")


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def _write_snap(directory: Path, data: bytes) -> Path:
    (directory / "meta").mkdir(parents=True, exist_ok=True)
    (directory / "meta" / "snap.yaml").write_bytes(data)
    (directory / "bin").mkdir(exist_ok=True)
    return directory


@pytest.mark.parametrize("data, line, field, fragment", _params(CASES))
def test_read_manifest_refuses(tmp_path, catalogue, data, line, field, fragment):
    snap_dir = _write_snap(tmp_path / "bad", _bytes(data))
    with pytest.raises(ManifestError) as info:
        read_manifest(snap_dir, catalogue)
    check_error(info.value, line, field, fragment, file_suffix=os.path.join("meta", "snap.yaml"))


@pytest.mark.parametrize("data, line, field, fragment", _params(CASES))
def test_parse_text_refuses(catalogue, data, line, field, fragment):
    with pytest.raises(ManifestError) as info:
        parse_text(_bytes(data), catalogue, file="x/meta/snap.yaml")
    check_error(info.value, line, field, fragment)
    assert info.value.file == "x/meta/snap.yaml"


def test_error_message_names_file_line_and_field(catalogue):
    with pytest.raises(ManifestError) as info:
        parse_text(H + "plugs:\n  bs:\n    interface: browser-support\n    allow-sandbox: 1\n", catalogue,
                   file="meta/snap.yaml")
    assert str(info.value).startswith("meta/snap.yaml:6: plugs.bs.allow-sandbox: ")


def test_directory_without_manifest(tmp_path, catalogue):
    with pytest.raises(ManifestError) as info:
        read_manifest(tmp_path, catalogue)
    assert info.value.file.endswith(os.path.join("meta", "snap.yaml"))
    assert "not found" in str(info.value)
    with pytest.raises(ManifestError):
        read_manifest(tmp_path / "missing", catalogue)


# --- through the command line, with state to protect ---------------------------------

CLI_CASES = [
    "name-uppercase", "name-system", "version-missing", "confinement-bad", "plug-unknown-interface",
    "app-plug-unknown-interface", "docker-privileged-string", "browser-sandbox-int", "plug-duplicate-key",
    "plug-and-slot-same-name", "command-dotdot", "yaml-unclosed-bracket", "yaml-tab-indentation", "non-utf8",
    "nul-byte", "oversized-50MB", "deep-nesting-10000", "billion-laughs", "tag-python-object", "top-level-list",
    "empty-file",
]
_BY_ID = {c[0]: c for c in CASES}
assert set(CLI_CASES) <= set(_BY_ID)


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CONFINE_DEBUG", "CONFINE_ROOT")}
    return subprocess.run([sys.executable, "-m", "backends.cli", "--root", str(root), *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def _snapshot(root: Path) -> dict:
    """state.json bytes and every path under snaps/ with its content hash."""
    out = {"state.json": (root / "state.json").read_bytes()}
    snaps = root / "snaps"
    for path in sorted(snaps.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            out[rel] = ("dir", oct(path.stat().st_mode))
        else:
            out[rel] = ("file", oct(path.stat().st_mode), hashlib.sha256(path.read_bytes()).hexdigest())
    # nothing left lying about beside state.json and snaps/ (temporary files, staged copies)
    out["top"] = sorted(p.name for p in root.iterdir())
    return out


@pytest.fixture(scope="module")
def installed_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("root")
    r = _cli(root, "install", str(EXAMPLES / "hello"))
    assert r.returncode == 0, r.stderr
    assert (root / "state.json").is_file()
    return root


@pytest.mark.parametrize("case_id", [pytest.param(c, marks=_BY_ID[c][5:]) for c in CLI_CASES])
def test_cli_install_refuses_and_keeps_state(tmp_path, installed_root, case_id):
    _, data, line, field, fragment, *_ = _BY_ID[case_id]
    snap_dir = _write_snap(tmp_path / "bad", _bytes(data))
    before = _snapshot(installed_root)
    r = _cli(installed_root, "install", str(snap_dir))
    after = _snapshot(installed_root)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    assert "internal error" not in r.stderr
    assert r.stdout == ""
    assert after == before, "a refused install changed the state directory"
    manifest = str(snap_dir / "meta" / "snap.yaml")
    err = r.stderr.strip()
    assert err.startswith("error: "), err
    assert len(err.splitlines()) == 1, err
    assert fragment in err
    where = f"{manifest}:{line}: " if line is not None else f"{manifest}: "
    if where not in err:
        raise WrongLine(f"{where!r} not in {err!r}")
    if field and f": {field}: " not in err:
        raise WrongField(f"field {field!r} not in {err!r}")


def test_cli_refused_update_keeps_installed_snap(tmp_path, installed_root):
    """A bad new revision of an installed snap leaves the installed one in place."""
    src = tmp_path / "hello"
    shutil.copytree(EXAMPLES / "hello", src)
    (src / "meta" / "snap.yaml").write_text(
        "name: hello\nversion: '2.0'\napps:\n  hello:\n    command: bin/hello\n"
        "plugs:\n  docker-support:\n    privileged-containers: 'yes'\n")
    before = _snapshot(installed_root)
    r = _cli(installed_root, "install", str(src))
    assert r.returncode == 1
    assert f"{src / 'meta' / 'snap.yaml'}:8: plugs.docker-support.privileged-containers: " in r.stderr
    assert "Traceback" not in r.stderr
    assert _snapshot(installed_root) == before
    listing = _cli(installed_root, "list", "--json")
    assert listing.returncode == 0
    assert '"version": "1.0"' in listing.stdout
