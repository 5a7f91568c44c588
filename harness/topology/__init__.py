"""Where workloads landed on the testbed's topology (zone → rack → node → NUMA node → devices), and
the objects that ask for placement (Kueue topologies, claims laid out to test alignment)."""
