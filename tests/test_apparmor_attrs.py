"""Attribute values reach an AppArmor profile only where their interface puts them.

A snap plugs personal-files and system-files with every kind of path the schema
accepts, and a content plug is connected to a slot whose paths use $SNAP,
$SNAP_DATA and $SNAP_COMMON; the profile compiles, each value appears only in
the rules its interface writes for it, and no `$` variable is left unexpanded.
Values that could not compile or could break out of a rule never get installed.
"""
from __future__ import annotations

import json

import pytest

from apparmor_catalogue_snaps import contexts_of, quiet_backend, write_snap
from backends.errors import ManifestError
from backends.native.apparmor.compile import ParserMissing, compile_profiles, find_parser
from backends.native.apparmor.generate import SECTION_MARK, generate
from backends.native.interfaces.catalogue import load_catalogue
from backends.native.manifest import parse_text

PERSONAL_READ = ["$HOME/.config/a+b~c", "$HOME/.x[0-9]y", "$HOME/dir/*.conf", "$HOME/q?z", "$HOME/Some.Dir-1_2"]
PERSONAL_WRITE = ["$HOME/.local/share/app-data_1", "$HOME/[a-c]x/**"]
SYSTEM_READ = ["/etc/foo-bar_baz.conf", "/opt/x[a-z]/*", "/srv/~user/+plus", "/usr/share/app/"]
SYSTEM_WRITE = ["/var/lib/st.ate"]
CONTENT_READ = ["$SNAP/lib", "$SNAP_COMMON/data", "/opt/shared-ro"]
CONTENT_WRITE = ["$SNAP_DATA/sockets"]

PROVIDER = f"""\
name: provider
version: '1'
slots:
  shared:
    interface: content
    content: shared
    read: {json.dumps(CONTENT_READ)}
    write: {json.dumps(CONTENT_WRITE)}
  raw:
    interface: hidraw
    path: /dev/hidraw7
  serial:
    interface: serial-port
    path: /dev/ttyUSB3
apps:
  serve:
    command: bin/run
"""

CONSUMER = f"""\
name: consumer
version: '1'
plugs:
  personal:
    interface: personal-files
    read: {json.dumps(PERSONAL_READ)}
    write: {json.dumps(PERSONAL_WRITE)}
  sysfiles:
    interface: system-files
    read: {json.dumps(SYSTEM_READ)}
    write: {json.dumps(SYSTEM_WRITE)}
  shared:
    interface: content
    content: shared
    target: $SNAP/from-provider
  raw:
    interface: hidraw
  serial:
    interface: serial-port
apps:
  use:
    command: bin/run
"""


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attrs")
    backend = quiet_backend(tmp / "root", "classic")
    grants = ["personal-files", "system-files", "content", "hidraw", "serial-port"]
    backend.install(write_snap(tmp, PROVIDER, "provider"), grants=grants)
    backend.install(write_snap(tmp, CONSUMER, "consumer"), grants=grants)
    backend.connect("consumer:personal")
    backend.connect("consumer:sysfiles")
    for name in ("shared", "raw", "serial"):
        backend.connect(f"consumer:{name}", f"provider:{name}")
    (ctx,) = contexts_of(backend, ["consumer"])
    text = generate(ctx)
    return tmp, backend.snap("provider"), ctx, text


def section_of_each_line(text: str) -> list[tuple[str, str]]:
    out, current = [], None
    for line in text.splitlines():
        if line.strip().startswith(SECTION_MARK):
            current = line.strip()[len(SECTION_MARK):].split(",")[0].removeprefix("interface ")
        elif line.strip() and not line.lstrip().startswith("#"):
            out.append((current, line.strip()))
    return out


def lines_with(text: str, needle: str) -> list[tuple[str, str]]:
    return [(s, line) for s, line in section_of_each_line(text) if needle in line]


def test_profile_with_every_kind_of_path_attribute_compiles(profile, tmp_path):
    try:
        find_parser()
    except ParserMissing:
        pytest.skip("apparmor_parser is not installed (Debian package apparmor)")
    _, _, ctx, text = profile
    src = tmp_path / ctx.tag
    src.write_text(text)
    (res,) = compile_profiles([(ctx.tag, src, tmp_path / "out")])
    assert res.ok, str(res.error)


def test_personal_files_values_only_in_their_rules(profile):
    _, _, _, text = profile
    for value in PERSONAL_READ:
        path = value.replace("$HOME", "@{HOME}")
        assert lines_with(text, path) == [("personal-files", f'owner "{path}{{,/,/**}}" rk,')], value
    for value in PERSONAL_WRITE:
        path = value.replace("$HOME", "@{HOME}")
        assert lines_with(text, path) == [("personal-files", f'owner "{path}{{,/,/**}}" rwkl,')], value


def test_system_files_values_only_in_their_rules(profile):
    _, _, _, text = profile
    for value in SYSTEM_READ:
        assert lines_with(text, f'"{value}{{') == [("system-files", f'"{value}{{,/,/**}}" rk,')], value
    for value in SYSTEM_WRITE:
        assert lines_with(text, value) == [("system-files", f'"{value}{{,/,/**}}" rwkl,')], value


def test_content_paths_are_the_providers_directories(profile):
    _, provider, _, text = profile
    expanded = {
        "$SNAP/lib": f"{provider.path}/lib",
        "$SNAP_COMMON/data": "/var/snap/provider/common/data",
        "/opt/shared-ro": "/opt/shared-ro",
        "$SNAP_DATA/sockets": f"/var/snap/provider/{provider.revision}/sockets",
    }
    for value in CONTENT_READ:
        d = expanded[value]
        assert lines_with(text, d) == [("content", f"{d}/ r,"), ("content", f"{d}/** mrkix,")], value
    for value in CONTENT_WRITE:
        d = expanded[value]
        assert lines_with(text, d) == [("content", f"{d}/ rw,"), ("content", f"{d}/** mrwklix,")], value
    # the plug's own target is a mount point for the launcher, not an AppArmor rule
    assert "from-provider" not in text


def test_device_paths_of_slots(profile):
    _, _, _, text = profile
    assert all(s == "hidraw" for s, _ in lines_with(text, "/dev/hidraw7"))
    assert ("hidraw", "/dev/hidraw7 rw,") in lines_with(text, "/dev/hidraw7")
    assert all(s == "serial-port" for s, _ in lines_with(text, "/dev/ttyUSB3"))
    assert lines_with(text, "/dev/ttyUSB3")


def test_no_variable_left_unexpanded(profile):
    _, _, _, text = profile
    for section, line in section_of_each_line(text):
        assert "$" not in line, (section, line)


@pytest.mark.parametrize("value", [
    '$HOME/x", /** rwklix, "/y',          # quote and comma: out of the rule
    "$HOME/x{,/**}",                        # braces: a wider glob
    "$HOME/x\n/** rw,",                     # newline: a new rule
    "$HOME/x # c",                          # comment and blank
    "$HOME/@{HOME}",                        # a variable
    "$HOME/../../etc/shadow",               # out of home
    "$HOME/a[b",                            # unbalanced bracket: would not compile
    "$HOME/a]b",
    "$HOME/a[]b",
    "$HOME/a[^b]",
    "$HOME/a\\x",
])
def test_values_that_could_escape_or_break_a_rule_are_refused(value):
    text = f"name: bad\nversion: '1'\nplugs:\n  p:\n    interface: personal-files\n    read: {json.dumps([value])}\n"
    with pytest.raises(ManifestError, match="plugs.p.read"):
        parse_text(text, load_catalogue())
