"""Kubernetes access for the harness: clients and bounded waits."""
