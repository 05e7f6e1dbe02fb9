"""Variables of the launch: the plan's inputs and the environment snap apps expect.

The plan's values may name `$VARIABLES`: first the inputs (UID, GID, USER,
REAL_HOME), then the variables the `environment` step sets, in order (a value may
name an earlier one). The app's environment is that list plus the caller's
session variables that the step's `keep` names (a trailing `*` is a prefix); all
else of the caller's environment is dropped.
"""
from __future__ import annotations

from ..landlock.apply import expand

__all__ = ["expand", "variables", "environment"]


def variables(inputs: dict[str, str], env_step: dict | None) -> dict[str, str]:
    """Inputs plus every variable of the environment step, expanded in order."""
    out = dict(inputs)
    for name, value in (env_step or {}).get("set", ()):
        try:
            out[name] = expand(value, out)
        except ValueError as exc:
            raise ValueError(f"environment variable {name}: {exc}") from None
    return out


def _kept(name: str, keep) -> bool:
    for k in keep:
        if k.endswith("*"):
            if name.startswith(k[:-1]):
                return True
        elif name == k:
            return True
    return False


def environment(env_step: dict, values: dict[str, str], caller: dict[str, str]) -> dict[str, str]:
    """The app's environment: the caller's kept session variables, then the step's own."""
    out = {k: v for k, v in caller.items() if _kept(k, env_step.get("keep", ()))}
    for name, _ in env_step.get("set", ()):
        out[name] = values[name]
    return out
