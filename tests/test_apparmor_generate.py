"""AppArmor profile generation: header, variables, flags, template, snippets, determinism."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from apparmor_catalogue_snaps import connect_everything, contexts_of, quiet_backend, write_snap
from backends.model import Snap
from backends.native.apparmor import generate as gen
from backends.native.apparmor.generate import (ALWAYS_DEFINED, ON_DEMAND, PEER_PLACEHOLDER, SECTION_MARK,
                                               TUNABLE_VARIABLES, ProfileError, generate, parse_paragraphs,
                                               rule_key)
from backends.native.interfaces.catalogue import load_catalogue
from backends.native.profiles.context import Grant, TagContext, security_tags

TEMPLATE_MARK = f"  {SECTION_MARK}base policy of a strictly confined app"


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    backend = quiet_backend(tmp_path_factory.mktemp("examples") / "root", "classic")
    backend.install_examples(grants=["docker"])
    connect_everything(backend)
    return backend, contexts_of(backend)


def rule_keys(text: str) -> list[str]:
    """Every rule of a profile body (between the profile's braces), as rule_key() sees it."""
    body = text.split(" {\n", 1)[1].rsplit("}\n", 1)[0]
    return [rule_key(r) for p in parse_paragraphs(body) for r in p.rules]


def sections(text: str) -> list[str]:
    return [line.strip()[len(SECTION_MARK):] for line in text.splitlines() if line.strip().startswith(SECTION_MARK)]


def test_every_example_app_and_hook_gets_a_profile(examples):
    backend, ctxs = examples
    expected = {t for s in backend.snaps() for t, _, _ in security_tags(s)}
    assert {c.tag for c in ctxs} == expected
    assert len(expected) >= 10


def test_header_variables_include_and_profile_line(examples):
    _, ctxs = examples
    for ctx in ctxs:
        text = generate(ctx)
        lines = text.splitlines()
        assert lines[0] == f"# AppArmor profile of {ctx.tag}"
        app = ctx.tag.split(".", 2)[2]
        assert f'@{{SNAP_NAME}}="{ctx.snap.name}"' in lines
        assert f'@{{SNAP_INSTANCE_NAME}}="{ctx.snap.name}"' in lines
        assert f'@{{SNAP_REVISION}}="{ctx.snap.revision}"' in lines
        assert f'@{{SNAP_COMMAND_NAME}}="{app}"' in lines
        assert f'@{{SNAP}}="{ctx.snap.path}"' in lines
        assert ctx.snap.path.startswith(str(ctx.snap.path).rsplit("/snaps/", 1)[0]) and "/snaps/" in ctx.snap.path
        var_at = max(i for i, x in enumerate(lines) if x.startswith("@{"))
        inc_at = lines.index("#include <tunables/global>")
        prof_at = lines.index(f'profile "{ctx.tag}" (attach_disconnected,mediate_deleted) {{')
        assert var_at < inc_at < prof_at
        assert text.endswith("\n}\n")


def test_template_is_in_every_strict_profile(examples):
    _, ctxs = examples
    for ctx in ctxs:
        text = generate(ctx)
        assert TEMPLATE_MARK in text
        for rule in ("#include <abstractions/base>", "@{SNAP}/** mrklix,",
                     "/var/snap/@{SNAP_INSTANCE_NAME}/@{SNAP_REVISION}/{,**} mrwklix,",
                     "owner @{HOME}/snap/@{SNAP_INSTANCE_NAME}/@{SNAP_REVISION}/{,**} mrwklix,",
                     "/tmp/** mrwlk,", "owner /run/user/[0-9]*/snap.@{SNAP_INSTANCE_NAME}/{,**} mrwk,",
                     "signal (send, receive) peer=snap.@{SNAP_INSTANCE_NAME}.*,",
                     "unix (send, receive, connect) peer=(label=snap.@{SNAP_INSTANCE_NAME}.*),"):
            assert f"\n  {rule}\n" in text, (ctx.tag, rule)
        # nothing of the home folder beyond the snap's own data
        assert "owner @{HOME}/ r," not in text or any(g.interface in ("home", "personal-files")
                                                       for g, _ in ctx.bodies("apparmor"))


def test_snippets_sorted_by_interface_and_side_each_under_a_header(examples):
    _, ctxs = examples
    seen_any = False
    for ctx in ctxs:
        text = generate(ctx)
        heads = sections(text)[1:]  # after the template's
        keys = [tuple(h.split(" (", 1)[0].removeprefix("interface ").split(", ")) for h in heads]
        assert keys == sorted(keys), ctx.tag
        assert len(keys) == len(set(keys)), ctx.tag
        granted = {(g.interface, g.side) for g, _ in ctx.bodies("apparmor")}
        assert set(keys) == granted, ctx.tag
        # every rule of every grant is in the profile, once
        all_keys = rule_keys(text)
        assert len(all_keys) == len(set(all_keys)), ctx.tag
        for grant, body in ctx.bodies("apparmor"):
            for para in parse_paragraphs(gen._expand(body, grant)):
                for rule in para.rules:
                    assert rule_key(rule) in all_keys, (ctx.tag, grant.interface, rule)
                    seen_any = True
    assert seen_any


def test_header_names_the_connection_ends(examples):
    _, ctxs = examples
    ctx = next(c for c in ctxs if c.tag == "snap.container-client.client")
    text = generate(ctx)
    assert "# --- interface docker, connected-plug (container-client:docker to containerd-lite:docker)" in text
    daemon = next(c for c in ctxs if c.tag == "snap.containerd-lite.daemon")
    heads = sections(generate(daemon))
    assert "interface docker, permanent-slot (containerd-lite:docker)" in heads


def test_rule_granted_by_two_interfaces_is_written_once(examples):
    _, ctxs = examples
    ctx = next(c for c in ctxs if c.tag == "snap.nettool.nettool")
    text = generate(ctx)
    granting = {g.interface for g, body in ctx.bodies("apparmor") if "network netlink raw," in body}
    assert len(granting) >= 2
    assert text.count("\n  network netlink raw,\n") == 1


def test_app_bound_plugs_stay_with_their_app(examples):
    _, ctxs = examples
    notes = generate(next(c for c in ctxs if c.tag == "snap.notes.notes"))
    sync = generate(next(c for c in ctxs if c.tag == "snap.notes.notes-sync"))
    assert "interface removable-media" in notes and "interface home" in notes
    assert "interface removable-media" not in sync and "interface home" in sync


def test_same_input_gives_same_bytes(examples):
    backend, ctxs = examples
    first = {c.tag: generate(c) for c in ctxs}
    again = {c.tag: generate(c) for c in contexts_of(backend)}
    assert first == again
    assert all(isinstance(t, str) and t.isascii() for t in first.values())


def _small(tmp_path: Path, yaml_text: str, kind: str = "classic"):
    backend = quiet_backend(tmp_path / "root", kind)
    name = re.search(r"^name: (\S+)", yaml_text, re.M).group(1)
    backend.install(write_snap(tmp_path, yaml_text, name))
    connect_everything(backend)
    return backend, contexts_of(backend, [name])


def test_devmode_adds_complain_and_keeps_the_template(tmp_path):
    _, ctxs = _small(tmp_path, "name: devsnap\nversion: '1'\nconfinement: devmode\n"
                               "apps:\n  run:\n    command: bin/run\n    plugs: [network]\n")
    text = generate(ctxs[0])
    assert 'profile "snap.devsnap.run" (attach_disconnected,mediate_deleted,complain) {' in text
    assert TEMPLATE_MARK in text and "interface network, connected-plug" in text


def test_classic_is_permissive_and_says_so(tmp_path):
    _, ctxs = _small(tmp_path, "name: classy\nversion: '1'\nconfinement: classic\n"
                               "apps:\n  run:\n    command: bin/run\n    plugs: [network]\n")
    text = generate(ctxs[0])
    assert 'profile "snap.classy.run" (attach_disconnected,mediate_deleted,unconfined) {' in text
    assert TEMPLATE_MARK not in text
    assert "# --- classic confinement" in text and "unconfined" in text
    for rule in ("capability,", "network,", "file,", "unix,", "signal,", "ptrace,"):
        assert f"\n  {rule}\n" in text
    assert "#   network (connected-plug)" in text       # listed, not applied
    assert "network inet stream," not in text


def test_hook_profile_names_the_hook(tmp_path):
    _, ctxs = _small(tmp_path, "name: hooky\nversion: '1'\napps:\n  run:\n    command: bin/run\n"
                               "hooks:\n  configure:\n    plugs: [network]\n")
    hook = next(c for c in ctxs if c.hook == "configure")
    text = generate(hook)
    assert hook.tag == "snap.hooky.hook.configure"
    assert '@{SNAP_COMMAND_NAME}="hook.configure"' in text
    assert 'profile "snap.hooky.hook.configure" (' in text
    assert "interface network, connected-plug (hooky:network to :network)" in text


# ---- hand-made contexts ---------------------------------------------------------------

def _ctx(*grants: Grant, path: str = "/var/lib/confine/snaps/hand/x3", confinement: str = "strict") -> TagContext:
    snap = Snap(name="hand", version="1", revision="x3", path=path, confinement=confinement)
    return TagContext("snap.hand.app", snap, "app", None, "classic", tuple(grants))


def _grant(text: str, side: str = "connected-plug", peer: str | None = "other:slot",
           tags: tuple[str, ...] = ("snap.other.a",), iface: str = "demo") -> Grant:
    return Grant(iface, side, "hand:plug", peer, tags, {"apparmor": text})


@pytest.mark.parametrize("tags, peer, label", [
    (("snap.other.a",), "other:slot", '"snap.other.a"'),
    (("snap.other.a", "snap.other.hook.install"), "other:slot", '"{snap.other.a,snap.other.hook.install}"'),
    (("unconfined",), ":slot", '"unconfined"'),
    ((), "other:slot", '"snap.other.*"'),
])
def test_peer_placeholder_becomes_the_peer_label(tags, peer, label):
    text = generate(_ctx(_grant(f"dbus (send) bus=system peer=(label={PEER_PLACEHOLDER}),\n", peer=peer, tags=tags)))
    assert f"  dbus (send) bus=system peer=(label={label}),\n" in text
    assert PEER_PLACEHOLDER not in text


def test_peer_placeholder_without_a_peer_is_an_error():
    with pytest.raises(ProfileError, match="no peer"):
        generate(_ctx(_grant(f"signal peer={PEER_PLACEHOLDER},\n", side="permanent-plug", peer=None, tags=())))


def test_home_and_snap_variables_from_attribute_values():
    text = generate(_ctx(_grant('owner "$HOME/.config/app{,/,/**}" rk,\n$SNAP_DATA/x r,\n$SNAP_COMMON/y r,\n'
                                '$SNAP/z r,\n')))
    assert '  owner "@{HOME}/.config/app{,/,/**}" rk,\n' in text
    assert "  @{SNAP_DATA}/x r,\n" in text and '@{SNAP_DATA}=/var/snap/@{SNAP_INSTANCE_NAME}/@{SNAP_REVISION}' in text
    assert "  @{SNAP_COMMON}/y r,\n" in text and "@{SNAP_COMMON}=/var/snap/@{SNAP_INSTANCE_NAME}/common" in text
    assert "  @{SNAP}/z r,\n" in text
    assert "$" not in "".join(x for x in text.splitlines() if not x.lstrip().startswith("#"))


def test_unknown_variable_is_refused_naming_the_interface():
    with pytest.raises(ProfileError, match=r"demo.*@\{MYSTERY\}"):
        generate(_ctx(_grant("@{MYSTERY}/x r,\n")))


@pytest.mark.parametrize("path", ["/srv/my root/snaps/hand/x3", "/srv/r{a,b}/x", "/srv/*/x", '/srv/"q"/x',
                                  "/srv/../etc", "relative/x"])
def test_install_path_that_cannot_go_into_a_profile_is_refused(path):
    with pytest.raises(ProfileError, match="install directory"):
        generate(_ctx(path=path))


def test_multi_line_rules_and_comments_are_kept_whole():
    body = ("# first\ndbus (send)\n    bus=system\n    path=/a{,/**}\n    peer=(label=unconfined),\n"
            "/x r,  # trailing\n\n# lonely comment\n")
    text = generate(_ctx(_grant(body), _grant(body, iface="demo2")))
    assert "  dbus (send)\n      bus=system\n      path=/a{,/**}\n      peer=(label=unconfined),\n" in text
    assert text.count("dbus (send)") == 1 and text.count("/x r,") == 1
    assert text.endswith("interface demo2, connected-plug (hand:plug to other:slot)\n"
                         "  # (every rule of this interface is already granted above)\n}\n")
    keys = rule_keys(text)
    assert len(keys) == len(set(keys))


def test_an_interface_whose_rules_are_all_above_says_so():
    text = generate(_ctx(_grant("/tmp/** mrwlk,\n")))
    assert "# (every rule of this interface is already granted above)" in text


# ---- the catalogue itself ---------------------------------------------------------------

def test_catalogue_uses_only_known_variables_and_peer_only_where_there_is_one():
    known = TUNABLE_VARIABLES | set(ALWAYS_DEFINED) | set(ON_DEMAND)
    for iface in load_catalogue().values():
        for i, block in enumerate(iface.snippets):
            text = block.get("apparmor", "")
            assert set(gen.VARIABLE.findall(text)) <= known, (iface.name, i)
            if PEER_PLACEHOLDER in text:
                assert block["for"].startswith("connected-"), (iface.name, i)


def test_snippet_comments_cannot_pose_as_section_headers():
    text = generate(_ctx(_grant(f"{SECTION_MARK}interface fake, connected-plug (x)\n/x r,\n")))
    assert sections(text)[1:] == ["interface demo, connected-plug (hand:plug to other:slot)"]
