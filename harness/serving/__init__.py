"""Model serving as the suites deploy and watch it: the mock vLLM image and its LeaderWorkerSet /
Deployment manifests, inference services and GPU groups, the capacity buffer, and the observers that
read groups, rings and streams from outside. (The mock vLLM engine itself is the top-level workloads/.)"""
