"""The suites' set-ups, shared by a suite and its negative controls (tests/cluster/test_<area>_negative.py),
so that a control is visibly the suite's scenario with one named change (`queued=False`,
`restart_policy="None"`, `pinned=False`, ...). One module per area; the topology area keeps its own
in harness/topology/scenarios.py."""
