"""Base-declaration evaluation, as snapd does it."""
from __future__ import annotations

from backends.model import Interface
from backends.native.policy import Side, check_connection, check_installation, constraint_matches


def iface(decl: dict) -> Interface:
    return Interface(name="t", summary="s", label="l", base_declaration=decl)


APP = Side("app", "p", {})
CORE_SLOT = Side("core", "t", {})


def test_defaults_allow_everything():
    i = iface({})
    assert check_installation(i, "plug", APP, True).allowed
    assert check_connection(i, APP, CORE_SLOT, True).allowed
    assert check_connection(i, APP, CORE_SLOT, True, auto=True).allowed


def test_deny_before_allow():
    i = iface({"slots": {"allow-connection": True, "deny-connection": True}})
    d = check_connection(i, APP, CORE_SLOT, True)
    assert not d.allowed and d.rule == "base-declaration slots.t.deny-connection"


def test_plug_rule_decides_before_slot_rule():
    i = iface({"plugs": {"allow-connection": True}, "slots": {"deny-connection": True}})
    assert check_connection(i, APP, CORE_SLOT, True).allowed
    i = iface({"plugs": {"deny-auto-connection": True}, "slots": {"allow-auto-connection": True}})
    d = check_connection(i, APP, CORE_SLOT, True, auto=True)
    assert not d.allowed and d.rule.startswith("base-declaration plugs.")


def test_maps_and_lists():
    plug = Side("app", "p", {"a": "x", "b": True})
    slot = Side("core", "s", {"a": "x"})
    assert constraint_matches({"plug-attributes": {"a": "x", "b": True}}, plug, slot, True)
    assert not constraint_matches({"plug-attributes": {"a": "x", "b": False}}, plug, slot, True)  # AND
    assert constraint_matches([{"on-classic": False}, {"plug-attributes": {"b": True}}], plug, slot, True)  # OR
    assert constraint_matches({"plug-attributes": {"a": ["y", "x"]}}, plug, slot, True)  # list value: OR
    assert constraint_matches({"plug-attributes": {"a": "$SLOT(a)"}}, plug, slot, True)
    assert not constraint_matches({"plug-attributes": {"a": "$SLOT(missing)"}}, plug, slot, True)
    assert constraint_matches({"plug-attributes": {"zzz": "$MISSING"}}, plug, slot, True)
    assert constraint_matches({"plug-attributes": {"a": "[a-z]"}}, plug, slot, True)  # regex, full match
    assert not constraint_matches({"plug-attributes": {"a": "x."}}, plug, slot, True)
    assert not constraint_matches({"plug-attributes": {"b": "true"}}, plug, slot, True)  # no type juggling


def test_snap_types_and_on_classic():
    i = iface({"slots": {"allow-installation": {"slot-snap-type": ["core"]}}})
    assert check_installation(i, "slot", Side("os", "s", {}), False).allowed
    assert check_installation(i, "slot", Side("snapd", "s", {}), False).allowed
    d = check_installation(i, "slot", Side("app", "s", {}), False)
    assert not d.allowed and d.rule == "base-declaration slots.t.allow-installation"
    i = iface({"slots": {"deny-auto-connection": {"on-classic": False}}})
    assert check_connection(i, APP, CORE_SLOT, True, auto=True).allowed
    assert not check_connection(i, APP, CORE_SLOT, False, auto=True).allowed


def test_installation_rule_of_one_side_ignores_the_other():
    i = iface({"plugs": {"allow-installation": False}})
    assert not check_installation(i, "plug", APP, True).allowed
    assert check_installation(i, "slot", CORE_SLOT, True).allowed
