"""Conformance harness for LLM-inference orchestration on Kubernetes."""

__version__ = "0.1.0"
