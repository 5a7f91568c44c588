"""The testbed spec: schema (model), loading with validation, and what is derived from it."""

from harness.spec.load import SpecError, load_spec, parse_spec
from harness.spec.model import PROFILE_LABEL, RACK_LABEL, ZONE_LABEL, Testbed, Timing

__all__ = ["PROFILE_LABEL", "RACK_LABEL", "ZONE_LABEL", "SpecError", "Testbed", "Timing", "load_spec", "parse_spec"]
