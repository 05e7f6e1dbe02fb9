"""Evaluate the interfaces' base declarations, as snapd does.

Connection and auto-connection: the interface's plug-side rule decides when the base
declaration has one, else its slot-side rule, else the connection is allowed. Inside
a rule deny-* is checked before allow-*; a missing allow-* is true, a missing deny-*
false. A constraint map matches when every key matches (AND); a list of maps, or a
list value inside a map, matches when any alternative does (OR).
Installation is checked for each plug against the plug rule and for each slot
against the slot rule. An admin's grant (`install --grant IFACE`) overrides
installation and connection refusals for that snap, never auto-connection.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..model import Interface, Plug, Slot

CORE_TYPES = {"core", "os", "snapd"}


@dataclass(frozen=True)
class Side:
    """What the rules may look at of one end of a connection."""

    snap_type: str
    name: str
    attrs: dict

    @property
    def type_for_rules(self) -> str:
        return "core" if self.snap_type in CORE_TYPES else self.snap_type


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str = ""       # e.g. "base-declaration plugs.docker-support.allow-installation"
    reason: str = ""     # plain sentence


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def _attr_matches(want: Any, have: Any, present: bool, other: dict) -> bool:
    if isinstance(want, list):
        return any(_attr_matches(w, have, present, other) for w in want)
    if want == "$MISSING":
        return not present
    if not present:
        return False
    if isinstance(want, str) and (want.startswith("$SLOT(") or want.startswith("$PLUG(")) and want.endswith(")"):
        name = want[6:-1]
        return name in other and other[name] == have
    if isinstance(have, list):
        return bool(have) and all(_attr_matches(want, h, True, other) for h in have)
    if isinstance(want, dict):
        return isinstance(have, dict) and all(
            _attr_matches(w, have.get(k), k in have, other) for k, w in want.items())
    if isinstance(want, str):
        return isinstance(have, str) and _regex(want).fullmatch(have) is not None
    return type(want) is type(have) and want == have


def _map_matches(cmap: dict, plug: Side | None, slot: Side | None, on_classic: bool) -> bool:
    for key, want in cmap.items():
        if key == "on-classic":
            if want != on_classic:
                return False
            continue
        side_name, _, what = key.partition("-")
        side, other = (plug, slot) if side_name == "plug" else (slot, plug)
        if side is None:  # installation of the other side: this constraint cannot match
            return False
        if what == "snap-type":
            if side.type_for_rules not in want:
                return False
        elif what == "names":
            if side.name not in want:
                return False
        elif what == "attributes":
            other_attrs = other.attrs if other else {}
            if not all(_attr_matches(w, side.attrs.get(k), k in side.attrs, other_attrs) for k, w in want.items()):
                return False
    return True


def constraint_matches(value: Any, plug: Side | None, slot: Side | None, on_classic: bool) -> bool:
    if isinstance(value, bool):
        return value
    alternatives = value if isinstance(value, list) else [value]
    return any(_map_matches(m, plug, slot, on_classic) for m in alternatives)


def _evaluate(rule: dict, side_key: str, iface: str, kind: str, plug: Side | None, slot: Side | None,
              on_classic: bool) -> Decision:
    deny_key, allow_key = f"deny-{kind}", f"allow-{kind}"
    where = f"base-declaration {side_key}.{iface}"
    if deny_key in rule and constraint_matches(rule[deny_key], plug, slot, on_classic):
        return Decision(False, f"{where}.{deny_key}",
                        f"{kind} denied by {side_key[:-1]} rule of interface {iface!r}")
    if allow_key in rule and not constraint_matches(rule[allow_key], plug, slot, on_classic):
        return Decision(False, f"{where}.{allow_key}",
                        f"{kind} not allowed by {side_key[:-1]} rule of interface {iface!r}")
    return Decision(True)


def check_installation(iface: Interface, side: str, who: Side, on_classic: bool) -> Decision:
    """May a snap carry a plug (side='plug') or slot (side='slot') of `iface`?"""
    key = side + "s"
    rule = iface.base_declaration.get(key)
    if rule is None:
        return Decision(True)
    plug, slot = (who, None) if side == "plug" else (None, who)
    return _evaluate(rule, key, iface.name, "installation", plug, slot, on_classic)


def check_connection(iface: Interface, plug: Side, slot: Side, on_classic: bool, auto: bool = False) -> Decision:
    """May `plug` connect to `slot` (auto=True: automatically, at install)?"""
    kind = "auto-connection" if auto else "connection"
    decl = iface.base_declaration
    for key in ("plugs", "slots"):
        if key in decl:
            return _evaluate(decl[key], key, iface.name, kind, plug, slot, on_classic)
    return Decision(True)


def side_of(end: Plug | Slot, snap_type: str) -> Side:
    return Side(snap_type, end.name, end.attrs)
