"""Well-known names of the objects the harness makes and reads: API versions, label and annotation keys
of Kubernetes, DRA drivers, LeaderWorkerSet (v0.9) and Kueue (v1beta2). Spelled once here, imported everywhere."""

from __future__ import annotations

# Kubernetes
HOSTNAME_LABEL = "kubernetes.io/hostname"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"  # on a Service's EndpointSlices
RESOURCE_API = "resource.k8s.io/v1"  # DRA: ResourceClaims, ResourceSlices, DeviceClasses
SCRAPE_ANNOTATION = "prometheus.io/scrape"  # Prometheus scrapes pods that carry it (stack/manifests/prometheus.yaml)
SCRAPE_PORT_ANNOTATION = "prometheus.io/port"

# DRA drivers the harness knows by name (harness/dra/profile.py: their classes and attributes). Their
# devices are accelerators whatever the name says: discovery reads them too (the test driver's has no "gpu").
NVIDIA_GPU_DRIVER = "gpu.nvidia.com"
DRA_TEST_DRIVER = "test-driver.cdi.k8s.io"
# fake_gpu.DRIVER, spelled here too: the harness installs and runs without the fake_gpu package
# (tests/packaging); tests/unit/test_device_profile.py holds the two equal.
FAKE_GPU_DRIVER = "gpu.llm-conformance.io"
ACCELERATOR_DRIVERS = (FAKE_GPU_DRIVER, NVIDIA_GPU_DRIVER, DRA_TEST_DRIVER)

# LeaderWorkerSet: the labels its controller puts on every member
LWS_API = "leaderworkerset.x-k8s.io/v1"
LWS_NAME_LABEL = "leaderworkerset.sigs.k8s.io/name"
LWS_GROUP_INDEX_LABEL = "leaderworkerset.sigs.k8s.io/group-index"
LWS_WORKER_INDEX_LABEL = "leaderworkerset.sigs.k8s.io/worker-index"
LWS_GROUP_KEY_LABEL = "leaderworkerset.sigs.k8s.io/group-key"  # a hash unique to one group
LWS_REVISION_LABEL = "leaderworkerset.sigs.k8s.io/template-revision-hash"  # LWS v0.9.0's RevisionKey
LWS_EXCLUSIVE_TOPOLOGY = "leaderworkerset.sigs.k8s.io/exclusive-topology"  # annotation: one group per domain

# Kueue
KUEUE_API = "kueue.x-k8s.io/v1beta2"
KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
KUEUE_PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"
KUEUE_POD_GROUP_ANNOTATION = "kueue.x-k8s.io/pod-group-name"  # the group's Workload, on each of its pods
KUEUE_REQUIRED_TOPOLOGY = "kueue.x-k8s.io/podset-required-topology"  # annotation on a pod template

# KEDA
KEDA_API = "keda.sh/v1alpha1"

# The harness's own
NETWORK_LABEL = "llm-conformance.testbed"  # on each testbed's Docker network: load may reach its containers
PROMETHEUS_SERVICE = ("monitoring", "prometheus")  # namespace, name: where the suites and KEDA query Prometheus
