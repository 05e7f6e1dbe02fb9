"""snap.yaml files that are accepted, and what they are read into (as snapd reads them)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from backends.native.interfaces.catalogue import load_catalogue
from backends.native.manifest import parse_text, read_manifest, snap_from_record

CAT = load_catalogue()
EXAMPLES = Path(__file__).resolve().parent.parent / "backends" / "native" / "examples"

FULL = """\
# a manifest using every field the parser knows
name: full-snap
version: '2.1+git3~beta'
summary: A complete manifest
description: |
  Line one.
  Line two: "quoted", {braces}, commas, # and all.
title: Full Snap
confinement: devmode
base: core22
type: app
grade: stable            # not read, and not refused (snapd knows more keys than this parser)
architectures: [amd64]
apps:
  server:
    command: bin/server --port=8080
    daemon: simple
    plugs: [network-bind, shm, camera-plug]
    slots: [api]
  cli:
    command: bin/cli
    plugs:
      - network
      - camera-plug
  Helper-2:
    command: $SNAP/bin/helper
hooks:
  install:
    plugs: [network]
  configure:
plugs:
  camera-plug:
    interface: camera
  dockerd: docker-support
  home:
  shm:
    interface: shared-memory
    private: false
  sandbox:
    interface: browser-support
    allow-sandbox: true
  docs:
    interface: content
    target: $SNAP/docs
    default-provider: docs-provider
  dotfiles:
    interface: personal-files
    read: [$HOME/.fullrc, $HOME/.config/full]
slots:
  api:
    interface: docker
  serial:
    interface: serial-port
    path: /dev/serial-port-thing
    usb-vendor: 1027
    usb-product: 24577
"""

ALL_APPS = ["Helper-2", "cli", "server"]
ALL_HOOKS = ["configure", "install"]


@pytest.fixture(scope="module")
def full():
    return parse_text(FULL, CAT)


def test_full_header(full):
    assert full["name"] == "full-snap"
    assert full["version"] == "2.1+git3~beta"
    assert full["summary"] == "A complete manifest"
    assert full["description"] == 'Line one.\nLine two: "quoted", {braces}, commas, # and all.\n'
    assert full["title"] == "Full Snap"
    assert full["confinement"] == "devmode"
    assert full["base"] == "core22"
    assert full["type"] == "app"
    assert "grade" not in full and "architectures" not in full


def test_full_apps(full):
    assert sorted(full["apps"]) == ALL_APPS
    server = full["apps"]["server"]
    assert server["command"] == "bin/server --port=8080"
    assert server["daemon"] == "simple"
    assert full["apps"]["cli"]["daemon"] is None
    assert full["apps"]["Helper-2"]["command"] == "$SNAP/bin/helper"
    snap_wide = {"dockerd", "home", "sandbox", "docs", "dotfiles"}
    assert set(server["plugs"]) == {"network-bind", "shm", "camera-plug"} | snap_wide
    assert set(full["apps"]["cli"]["plugs"]) == {"network", "camera-plug"} | snap_wide
    assert set(full["apps"]["Helper-2"]["plugs"]) == snap_wide
    assert set(server["slots"]) == {"api", "serial"}
    assert set(full["apps"]["cli"]["slots"]) == {"serial"}


def test_full_hooks(full):
    assert sorted(full["hooks"]) == ALL_HOOKS
    snap_wide = {"dockerd", "home", "sandbox", "docs", "dotfiles"}
    assert set(full["hooks"]["install"]["plugs"]) == {"network"} | snap_wide
    assert set(full["hooks"]["configure"]["plugs"]) == snap_wide
    assert set(full["hooks"]["configure"]["slots"]) == {"serial"}


def test_full_plugs(full):
    plugs = full["plugs"]
    assert set(plugs) == {"camera-plug", "dockerd", "home", "shm", "sandbox", "docs", "dotfiles",
                          "network", "network-bind"}
    # `interface:` renames; a string is the interface name; null is a plug of the interface of its name
    assert plugs["camera-plug"]["interface"] == "camera"
    assert plugs["dockerd"]["interface"] == "docker-support"
    assert plugs["home"]["interface"] == "home"
    # attributes, with the schema's defaults filled in; `interface` is not an attribute
    assert plugs["dockerd"]["attrs"] == {"privileged-containers": False}
    assert plugs["sandbox"]["attrs"] == {"allow-sandbox": True}
    assert plugs["shm"]["attrs"]["private"] is False
    assert plugs["docs"]["attrs"]["target"] == "$SNAP/docs"
    assert plugs["docs"]["attrs"]["default-provider"] == "docs-provider"
    assert plugs["dotfiles"]["attrs"] == {"read": ["$HOME/.fullrc", "$HOME/.config/full"]}
    assert plugs["camera-plug"]["attrs"] == {}
    assert all("interface" not in p["attrs"] for p in plugs.values())
    # app-listed, not declared: implicit plugs of the interface of that name
    assert plugs["network"]["interface"] == "network"
    assert plugs["network-bind"]["interface"] == "network-bind"


def test_full_binding(full):
    plugs = full["plugs"]
    assert (plugs["camera-plug"]["apps"], plugs["camera-plug"]["hooks"]) == (["cli", "server"], [])
    assert (plugs["shm"]["apps"], plugs["shm"]["hooks"]) == (["server"], [])
    assert (plugs["network"]["apps"], plugs["network"]["hooks"]) == (["cli"], ["install"])
    assert (plugs["network-bind"]["apps"], plugs["network-bind"]["hooks"]) == (["server"], [])
    for snap_wide in ("dockerd", "home", "sandbox", "docs", "dotfiles"):
        assert plugs[snap_wide]["apps"] == ALL_APPS, snap_wide
        assert plugs[snap_wide]["hooks"] == ALL_HOOKS, snap_wide
    slots = full["slots"]
    assert (slots["api"]["interface"], slots["api"]["apps"], slots["api"]["hooks"]) == ("docker", ["server"], [])
    assert slots["serial"]["interface"] == "serial-port"
    assert slots["serial"]["attrs"] == {"path": "/dev/serial-port-thing", "usb-vendor": 1027, "usb-product": 24577}
    assert (slots["serial"]["apps"], slots["serial"]["hooks"]) == (ALL_APPS, ALL_HOOKS)


def test_full_record_is_json_and_becomes_a_snap(full):
    assert json.loads(json.dumps(full)) == full
    snap = snap_from_record(full, revision="x1", path="/snaps/full-snap/x1")
    assert snap.name == "full-snap" and snap.version == "2.1+git3~beta" and snap.confinement == "devmode"
    assert snap.base == "core22" and snap.type == "app" and snap.revision == "x1"
    assert snap.apps["server"].daemon == "simple"
    assert snap.apps["server"].command == "bin/server --port=8080"
    assert set(snap.apps["server"].slots) == {"api", "serial"}
    assert snap.plugs["dockerd"].interface == "docker-support"
    assert snap.plugs["dockerd"].attrs == {"privileged-containers": False}
    assert snap.plugs["camera-plug"].apps == ("cli", "server")
    assert snap.slots["serial"].hooks == ("configure", "install")
    assert set(snap.hooks) == set(ALL_HOOKS)
    assert snap.plugs["network"].hooks == ("install",)


# --- binding, one rule at a time ------------------------------------------------------

def _parse(body: str) -> dict:
    return parse_text("name: bind\nversion: '1'\n" + body, CAT)


def test_unreferenced_top_level_plug_is_bound_to_every_app_and_hook():
    r = _parse("plugs:\n  net: network\napps:\n  a:\n    command: bin/a\n  b:\n    command: bin/b\n"
               "hooks:\n  install:\n")
    assert r["plugs"]["net"]["apps"] == ["a", "b"]
    assert r["plugs"]["net"]["hooks"] == ["install"]
    assert r["apps"]["a"]["plugs"] == ["net"] and r["apps"]["b"]["plugs"] == ["net"]
    assert r["hooks"]["install"]["plugs"] == ["net"]


def test_top_level_plug_referenced_by_some_apps_is_bound_to_those_only():
    r = _parse("plugs:\n  net: network\napps:\n  a:\n    command: bin/a\n    plugs: [net]\n"
               "  b:\n    command: bin/b\nhooks:\n  install:\n")
    assert r["plugs"]["net"]["apps"] == ["a"]
    assert r["plugs"]["net"]["hooks"] == []
    assert r["apps"]["b"]["plugs"] == []
    assert r["hooks"]["install"]["plugs"] == []


def test_top_level_plug_referenced_by_a_hook_only_is_bound_to_that_hook():
    r = _parse("plugs:\n  net: network\napps:\n  a:\n    command: bin/a\n"
               "hooks:\n  install:\n    plugs: [net]\n  configure:\n")
    assert r["plugs"]["net"]["apps"] == []
    assert r["plugs"]["net"]["hooks"] == ["install"]
    assert r["apps"]["a"]["plugs"] == []


def test_app_listed_plug_not_declared_is_implicit():
    r = _parse("apps:\n  a:\n    command: bin/a\n    plugs: [camera, docker-support]\n  b:\n    command: bin/b\n")
    assert r["plugs"]["camera"] == {"interface": "camera", "attrs": {}, "apps": ["a"], "hooks": []}
    # the implicit plug gets the schema's defaults too
    assert r["plugs"]["docker-support"]["attrs"] == {"privileged-containers": False}
    assert r["apps"]["b"]["plugs"] == []


def test_app_listed_slot_not_declared_is_implicit():
    r = _parse("apps:\n  a:\n    command: bin/a\n    slots: [docker]\n")
    assert r["slots"]["docker"] == {"interface": "docker", "attrs": {}, "apps": ["a"], "hooks": []}
    assert r["plugs"] == {}


def test_unreferenced_slot_is_bound_to_every_app():
    r = _parse("slots:\n  api: docker\napps:\n  a:\n    command: bin/a\n  b:\n    command: bin/b\n")
    assert r["slots"]["api"]["apps"] == ["a", "b"]
    assert r["apps"]["a"]["slots"] == ["api"]


def test_plug_of_a_snap_without_apps_is_bound_to_nothing():
    r = _parse("plugs:\n  net: network\n")
    assert r["plugs"]["net"] == {"interface": "network", "attrs": {}, "apps": [], "hooks": []}
    assert r["apps"] == {} and r["hooks"] == {}


def test_interface_key_renames_and_keeps_attributes():
    r = _parse("plugs:\n  priv:\n    interface: docker-support\n    privileged-containers: true\n")
    assert r["plugs"]["priv"]["interface"] == "docker-support"
    assert r["plugs"]["priv"]["attrs"] == {"privileged-containers": True}


def test_plug_named_after_interface_with_attributes():
    r = _parse("plugs:\n  browser-support:\n    allow-sandbox: true\n")
    assert r["plugs"]["browser-support"] == {"interface": "browser-support", "attrs": {"allow-sandbox": True},
                                             "apps": [], "hooks": []}


@pytest.mark.parametrize("iface, attr, default", [
    ("docker-support", "privileged-containers", False),
    ("browser-support", "allow-sandbox", False),
    ("block-devices", "allow-partitions", False),
    ("optical-drive", "write", False),
])
def test_defaults_filled_in(iface, attr, default):
    r = _parse(f"plugs:\n  p: {iface}\n")
    assert r["plugs"]["p"]["attrs"] == {attr: default}
    r = _parse(f"plugs:\n  p:\n    interface: {iface}\n    {attr}: true\n")
    assert r["plugs"]["p"]["attrs"] == {attr: True}


def test_every_schema_default_is_filled_in():
    """For each interface, a plug and slot with no attributes get every default of its schema."""
    for iface in CAT.values():
        for side, schema in (("plug", iface.plug_attributes), ("slot", iface.slot_attributes)):
            if any(s.get("required") for s in schema.values()):
                continue
            r = _parse(f"{side}s:\n  e: {iface.name}\n")
            attrs = r[f"{side}s"]["e"]["attrs"]
            for aname, spec in schema.items():
                if "default" in spec:
                    assert attrs[aname] == spec["default"], (iface.name, side, aname)
                elif not spec.get("default-name"):
                    assert aname not in attrs, (iface.name, side, aname)


def test_content_tag_defaults_to_the_plug_name():
    """As snapd: a content plug or slot without `content:` uses its own name as the tag."""
    r = _parse("plugs:\n  themes:\n    interface: content\n    target: $SNAP/themes\n"
               "slots:\n  fonts:\n    interface: content\n    read: [$SNAP/fonts]\n")
    assert r["plugs"]["themes"]["attrs"]["content"] == "themes"
    assert r["slots"]["fonts"]["attrs"]["content"] == "fonts"


def test_defaults():
    r = _parse("")
    assert r["confinement"] == "strict"
    assert r["type"] == "app"
    assert r["base"] is None
    assert r["summary"] == r["description"] == r["title"] == ""
    assert r["apps"] == r["hooks"] == r["plugs"] == r["slots"] == {}


@pytest.mark.parametrize("name", ["ab", "a1", "1a", "a-b-c", "x" * 40, "0ad", "core22"])
def test_valid_snap_names(name):
    assert parse_text(f"name: '{name}'\nversion: '1'\n", CAT)["name"] == name


@pytest.mark.parametrize("text, version", [("'1.0'", "1.0"), ("1.0", "1.0"), ("2", "2"), ("v1+git~1", "v1+git~1"),
                                           ("'1:2.3'", "1:2.3"), ("2024.01.02", "2024.01.02")])
def test_versions(text, version):
    assert parse_text(f"name: foo\nversion: {text}\n", CAT)["version"] == version


@pytest.mark.parametrize("text", ["1.10", "1:2.3", "1:30", "0x10", "1.0e+3"])
def test_unquoted_version_kept_as_written(text):
    """snapd (go-yaml into a string field) keeps the version text as written."""
    assert parse_text(f"name: foo\nversion: {text}\n", CAT)["version"] == text


@pytest.mark.parametrize("app", ["on", "no", "yes", "off"])
def test_app_named_like_a_yaml_bool(app):
    r = parse_text(f"name: foo\nversion: '1'\napps:\n  {app}:\n    command: bin/a\n", CAT)
    assert list(r["apps"]) == [app]


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.iterdir() if (p / "meta" / "snap.yaml").is_file()))
def test_examples_parse(example):
    r = read_manifest(EXAMPLES / example, CAT)
    assert r["name"] == example
    assert r["apps"]


def test_notes_example_binds_removable_media_to_notes_only():
    r = read_manifest(EXAMPLES / "notes", CAT)
    assert r["plugs"]["home"]["apps"] == ["notes", "notes-sync"]
    assert r["plugs"]["removable-media"]["apps"] == ["notes"]
    assert r["apps"]["notes-sync"]["plugs"] == ["home"]


def test_containerd_lite_example():
    r = read_manifest(EXAMPLES / "containerd-lite", CAT)
    assert r["plugs"]["docker-support"]["attrs"] == {"privileged-containers": True}
    assert r["plugs"]["docker-support"]["apps"] == ["daemon"]
    assert r["slots"]["docker"]["apps"] == ["daemon"]
    assert r["apps"]["ctl"]["plugs"] == [] and r["apps"]["ctl"]["slots"] == []


def test_parse_text_accepts_str_and_bytes():
    text = "name: foo\nversion: '1'\nsummary: caf\u00e9\n"
    assert parse_text(text, CAT) == parse_text(text.encode("utf-8"), CAT)
    assert parse_text(text, CAT)["summary"] == "caf\u00e9"


def test_crlf_and_bom_are_accepted():
    r = parse_text(b"\xef\xbb\xbfname: foo\r\nversion: '1'\r\n", CAT)
    assert (r["name"], r["version"]) == ("foo", "1")
