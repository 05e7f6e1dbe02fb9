"""Launch: the plan of the confined start of each app (generated with the profiles),
which `confine run` follows step by step."""
from .plan import SCHEMA, STEP_ORDER, PlanError, generate

__all__ = ["SCHEMA", "STEP_ORDER", "PlanError", "generate"]
