"""Scenarios: the set-ups a suite and its negative controls share, one module per area, so that a
control is visibly the suite's scenario with one named change (a parameter of the set-up)."""
