"""Fluent builders for the objects the harness makes, one per kind, in the style of Kueue's test
wrappers: `ClusterQueue("cq").flavor("f").quota(cpu="4", memory="8Gi").obj()`,
`LeaderWorkerSet(mock_vllm_lws("infer", 2)).queue("q").single_template().obj()`. Each method sets
one knob and returns the builder; `obj()` returns a copy of the dict to create (harness.kube.objects).
DRA claims have theirs in harness/dra/claims.py (`Claim("c").gpus(2).nics(1).match(NUMA).obj()`)."""
