"""Words for what an interface grants, from its catalogue entry (Interface.snippets).

Only reading and wording: the snippets are the engine's data, shown per layer."""
from __future__ import annotations

from rich.text import Text

SIDES = {"connected-plug": "the plugging app, when connected", "permanent-plug": "every app that plugs it",
         "connected-slot": "the slot's app, when connected", "permanent-slot": "the app that offers the slot"}


def _rules(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def grant_text(iface, side: str = "plug", limit: int = 6) -> Text:
    """What `iface` grants, layer by layer, for the plug side (or slot side)."""
    out = Text()
    blocks = [b for b in iface.snippets if str(b.get("for", "")).endswith(side)]
    if not blocks:
        out.append(f"Nothing beyond the default sandbox for the {side} side.\n", style="dim")
        return out
    for block in blocks:
        where = SIDES.get(block.get("for", ""), block.get("for", ""))
        out.append(f"For {where}", style="bold")
        when = block.get("when")
        if when:
            conds = ", ".join(f"{k} {v}" for k, v in when.items())
            out.append(f" (when {conds})", style="italic")
        out.append("\n")
        rules = _rules(block.get("apparmor", "") or "")
        if rules:
            out.append(f"  AppArmor: {len(rules)} rule{'s' * (len(rules) != 1)}\n", style="cyan")
            for r in rules[:limit]:
                out.append(f"    {r}\n")
            if len(rules) > limit:
                out.append(f"    ... {len(rules) - limit} more\n", style="dim")
        sc = _rules(block.get("seccomp", "") or "")
        if sc:
            out.append(f"  seccomp: {', '.join(sc[:12])}{' ...' if len(sc) > 12 else ''}\n", style="magenta")
        for m in block.get("udev", []) or []:
            out.append("  udev: " + ", ".join(f"{k}={v}" for k, v in m.items()) + "\n", style="green")
        mods = block.get("kernel-modules") or []
        if mods:
            out.append(f"  kernel modules: {', '.join(mods)}\n", style="red")
        for f in block.get("filesystem", []) or []:
            out.append(f"  Landlock: {f.get('path')} ({f.get('access', 'r')})\n", style="yellow")
        ll = block.get("landlock") or {}
        if ll.get("network"):
            out.append(f"  Landlock network: TCP {', '.join(ll['network'])}\n", style="yellow")
        if ll.get("unscoped"):
            out.append(f"  Landlock scopes left open: {', '.join(ll['unscoped'])}\n", style="yellow")
        if ll.get("mount"):
            out.append("  Landlock: no path rules (the app may mount, which Landlock would refuse)\n",
                       style="yellow")
    return out
