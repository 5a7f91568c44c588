"""The results.json schema (JSON Schema 2020-12), versioned: readers check `schema_version`.

Version 1. Bump SCHEMA_VERSION on any change a reader could trip over (a removed or renamed field, a
changed meaning) and describe it in reports/README.md; adding an optional field does not need a bump.
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 1
VERDICTS = ["passed", "failed", "not_applicable", "error", "not_run"]
# A requirement's verdict in the AI conformance table (harness/report/ai_conformance.py).
STEP_KINDS = ("setup", "wait", "observe")  # record.step: set-up, waiting for the cluster, observation
AI_VERDICTS = ["passed", "failed", "not_applicable", "not_run", "not_checked"]

_NUMBER_OR_NULL = {"type": ["number", "null"]}
_STRING_OR_NULL = {"type": ["string", "null"]}
_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
_COUNTS = {
    "type": "object",
    "required": VERDICTS,
    "properties": {v: {"type": "integer", "minimum": 0} for v in VERDICTS},
    "additionalProperties": False,
}

_CHECK = {
    "type": "object",
    "required": ["nodeid", "area", "check", "verdict", "reason", "figures", "evidence", "series", "events"],
    "properties": {
        "nodeid": {"type": "string", "description": "pytest node id: the check's stable key across runs"},
        "area": {"type": "string", "description": "suite marker: smoke, gang, restart, topology, ..."},
        "check": {"type": "string", "description": "the claim: the test docstring's first line"},
        "disruptive": {"type": "boolean"},
        "started": {"type": "number", "description": "epoch seconds"},
        "finished": _NUMBER_OR_NULL,
        "verdict": {"enum": VERDICTS},
        "reason": {"type": "string", "description": "failure message, error, or why not applicable"},
        "figures": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["value", "unit"],
                "properties": {"value": {"type": "number"}, "unit": {"type": "string"}, "note": {"type": "string"}},
            },
        },
        "evidence": {"type": "array", "items": {"type": "string"}},
        "series": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["unit", "points"],
                "properties": {
                    "unit": {"type": "string"},
                    "points": {
                        "type": "array",
                        "items": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}]},
                        "description": "[epoch seconds, value]",
                    },
                    "labels": _STRINGS,
                },
            },
        },
        "events": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["label", "at"],
                "properties": {"label": {"type": "string"}, "at": {"type": "number"}},
            },
        },
        "placements": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["group", "rack", "node"],
                "properties": {
                    "group": {"type": "string"},
                    "rack": {"type": "string"},
                    "node": {"type": "string"},
                    "numa": {"type": ["integer", "null"]},
                    "devices": {"type": "array", "items": {"type": "string"}},
                    "pod": {"type": "string"},
                },
            },
        },
        "loads": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["out", "csv", "summary"],
                "properties": {
                    "out": {"type": "string", "description": "load output folder, relative to the run folder"},
                    "csv": {"type": "array", "items": {"type": "string"}, "description": "Locust CSVs, relative"},
                    "summary": {
                        "type": "object",
                        "required": ["requests", "succeeded", "failed", "timeline"],
                        "description": "harness.load LoadResult: percentiles, failures, per-second timeline",
                    },
                },
            },
        },
        "steps": {
            "type": "array",
            "description": "the check's named steps (record.step), in start order",
            "items": {
                "type": "object",
                "required": ["label", "kind", "started"],
                "properties": {
                    "label": {"type": "string"},
                    "kind": {"enum": list(STEP_KINDS)},
                    "started": {"type": "number", "description": "epoch seconds"},
                    "finished": _NUMBER_OR_NULL,
                    "depth": {"type": "integer", "minimum": 0, "description": "steps it is nested in"},
                },
            },
        },
        "phases": {
            "type": "object",
            "description": "seconds of pytest's set-up (fixtures), call and teardown",
            "additionalProperties": {"type": "number"},
        },
        "timing": {
            "type": "object",
            "required": ["setup", "wait", "observe", "other"],
            "description": "seconds by kind: set-up (fixtures, teardown, set-up steps), waiting for the "
            "cluster, observation, and the call's time outside any step",
            "properties": {k: {"type": "number", "minimum": 0} for k in ("setup", "wait", "observe", "other")},
        },
        "diagnostics": {**_STRING_OR_NULL, "description": "diagnostics folder, relative to the run folder"},
        "dir": {"type": "string", "description": "this check's own folder, relative to the run folder"},
    },
}

_AI_REQUIREMENT = {
    "type": "object",
    "required": ["id", "category", "level", "description", "checks", "verdict", "reason", "note", "evidence"],
    "properties": {
        "id": {"type": "string", "description": "the checklist's requirement id, e.g. gang_scheduling"},
        "category": {"type": "string", "description": "the checklist's section: accelerators, networking, ..."},
        "level": {"enum": ["MUST", "SHOULD"]},
        "kar": {"type": ["integer", "null"], "description": "its KAR number in kubernetes-sigs/ai-conformance"},
        "description": {"type": "string", "description": "a short paraphrase of the requirement"},
        "checks": {"type": "array", "items": {"type": "string"}, "description": "node ids of the checks mapped"},
        "verdict": {"enum": AI_VERDICTS},
        "reason": {"type": "string", "description": "why not checked, which checks failed, or why not applicable"},
        "note": {"type": "string", "description": "what the mapped checks cover and do not"},
        "evidence": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["nodeid", "junit", "verdict", "figures", "reason"],
                "properties": {
                    "nodeid": {"type": "string"},
                    "junit": {"type": "string", "description": "classname.name in junit_01.xml"},
                    "verdict": {"enum": VERDICTS},
                    "figures": {"type": "object"},
                    "reason": {"type": "string"},
                },
            },
        },
    },
}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "llm-conformance results.json",
    "type": "object",
    "required": ["schema_version", "run", "environment", "versions", "testbed", "profile", "checks"],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "run": {
            "type": "object",
            "required": ["id", "started", "finished"],
            "properties": {
                "id": {"type": "string"},
                "started": {"type": "number"},
                "finished": {"type": "number"},
                "exit_status": {"type": ["integer", "null"]},
                "args": {"type": "array", "items": {"type": "string"}},
            },
        },
        "environment": {
            "type": "object",
            "required": ["harness_version", "python", "kubernetes_server", "node_image", "image_mode"],
            "properties": {
                "harness_version": {"type": "string"},
                "python": {"type": "string"},
                "platform": {"type": "string"},
                "kubernetes_server": _STRING_OR_NULL,
                "node_image": _STRING_OR_NULL,
                "image_mode": _STRING_OR_NULL,
                "cluster": _STRING_OR_NULL,
                "bring_up": _STRING_OR_NULL,
                "stack": _STRING_OR_NULL,
                "timing": {
                    "type": ["object", "null"],
                    "description": "the cluster's own timing settings (flag or setting: value)",
                    "additionalProperties": {"type": "string"},
                },
            },
        },
        "versions": {"type": "object", "description": "harness/versions.yaml, as pinned for this run"},
        "testbed": {
            "type": ["object", "null"],
            "required": ["name", "kubernetes", "nodes", "profiles"],
            "properties": {
                "name": {"type": "string"},
                "source": {"type": "string"},
                "kubernetes": {"type": "string"},
                "feature_gates": {"type": "object", "additionalProperties": {"type": "boolean"}},
                "nodes": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "role"],
                        "properties": {
                            "name": {"type": "string"},
                            "role": {"enum": ["control-plane", "worker"]},
                            "rack": _STRING_OR_NULL,
                            "zone": _STRING_OR_NULL,
                            "profile": _STRING_OR_NULL,
                        },
                    },
                },
                "profiles": {"type": "object", "additionalProperties": {"type": "object"}},
            },
        },
        "profile": {
            "type": "object",
            "required": ["total", "areas"],
            "properties": {"total": _COUNTS, "areas": {"type": "object", "additionalProperties": _COUNTS}},
        },
        "checks": {"type": "array", "items": _CHECK},
        "ai_conformance": {
            "type": "object",
            "description": "Kubernetes AI Conformance: every requirement of the checklist, with its checks' verdicts",
            "required": ["checklist", "version", "source", "requirements"],
            "properties": {
                "checklist": {"type": "string"},
                "version": {"type": "string"},
                "source": {"type": "string"},
                "requirements": {"type": "array", "items": _AI_REQUIREMENT},
            },
        },
    },
}


def problems(data: dict[str, Any]) -> list[str]:
    """Every way `data` breaks the schema, as 'path: message' lines (empty: valid)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(SCHEMA)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    ]
