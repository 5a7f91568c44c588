"""A fake GPU/NIC topology DRA driver: publishes a node's devices as resource.k8s.io/v1 ResourceSlices."""

DRIVER = "gpu.llm-conformance.io"
