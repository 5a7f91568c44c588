"""The workloads suites deploy: the mock vLLM image and its LeaderWorkerSet / Deployment manifests."""
