"""Launch: the plan of the confined start of each app (generated with the profiles),
which `confine run` follows step by step (runner.py).

The plan generator is loaded on first use: `confine run` imports the runner
through this package and must not pay for the generator's imports."""

__all__ = ["SCHEMA", "STEP_ORDER", "PlanError", "generate"]


def __getattr__(name):
    if name in __all__:
        from . import plan
        return getattr(plan, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
