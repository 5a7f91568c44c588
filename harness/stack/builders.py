"""Small builders for the stack's objects (LeaderWorkerSet, Kueue queues and jobs, KEDA ScaledObjects)
and the tiny workloads the component checks drive them with."""

from __future__ import annotations

from typing import Any

from harness import versions
from harness.stack import keda, kueue, lws, prometheus

Object = dict[str, Any]
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
METRICS_PORT = 8080
TINY = {"requests": {"cpu": "10m", "memory": "16Mi"}}


def busybox() -> str:
    return str(versions.pinned()["busybox"]["image"])


def _sleeper(name: str = "main") -> Object:
    return {"name": name, "image": busybox(), "command": ["sleep", "3600"], "resources": TINY}


def leader_worker_set(name: str, groups: int, size: int) -> Object:
    """`groups` groups of `size` pods (a leader and size-1 workers), each pod sleeping."""
    template = {"spec": {"terminationGracePeriodSeconds": 1, "containers": [_sleeper()]}}
    return {
        "apiVersion": lws.API,
        "kind": "LeaderWorkerSet",
        "metadata": {"name": name},
        "spec": {"replicas": groups, "leaderWorkerTemplate": {"size": size, "workerTemplate": template}},
    }


def resource_flavor(name: str) -> Object:
    return {"apiVersion": kueue.API, "kind": "ResourceFlavor", "metadata": {"name": name}, "spec": {}}


def cluster_queue(name: str, flavor: str, cpu: str, memory: str = "1Gi") -> Object:
    """A ClusterQueue admitting from every namespace, with a nominal CPU/memory quota on one flavor."""
    quotas = [{"name": "cpu", "nominalQuota": cpu}, {"name": "memory", "nominalQuota": memory}]
    return {
        "apiVersion": kueue.API,
        "kind": "ClusterQueue",
        "metadata": {"name": name},
        "spec": {
            "namespaceSelector": {},
            "resourceGroups": [
                {"coveredResources": ["cpu", "memory"], "flavors": [{"name": flavor, "resources": quotas}]}
            ],
        },
    }


def local_queue(name: str, cluster_queue_name: str) -> Object:
    return {
        "apiVersion": kueue.API,
        "kind": "LocalQueue",
        "metadata": {"name": name},
        "spec": {"clusterQueue": cluster_queue_name},
    }


def queued_job(name: str, queue: str, cpu: str, parallelism: int = 1) -> Object:
    """A suspended Job for `queue`: Kueue unsuspends it when it admits the workload."""
    container = {**_sleeper(), "command": ["sleep", "30"], "resources": {"requests": {"cpu": cpu, "memory": "16Mi"}}}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": {QUEUE_LABEL: queue}},
        "spec": {
            "suspend": True,
            "parallelism": parallelism,
            "completions": parallelism,
            "template": {"spec": {"restartPolicy": "Never", "containers": [container]}},
        },
    }


def metric_exporter(name: str, metric: str, value: float, scrape: bool = True) -> Object:
    """A busybox httpd serving `/metrics` with one gauge; `set_metric` changes its value."""
    script = f'mkdir -p /www && echo "{metric} {value}" > /www/metrics && exec httpd -f -p {METRICS_PORT} -h /www'
    annotations = {"prometheus.io/scrape": "true", "prometheus.io/port": str(METRICS_PORT)} if scrape else {}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}, "annotations": annotations},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "main",
                    "image": busybox(),
                    "command": ["sh", "-c", script],
                    "ports": [{"containerPort": METRICS_PORT}],
                    "resources": TINY,
                }
            ],
        },
    }


def set_metric_command(metric: str, value: float) -> list[str]:
    return ["sh", "-c", f'echo "{metric} {value}" > /www/metrics']


def sleeper_deployment(name: str, replicas: int = 1) -> Object:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"terminationGracePeriodSeconds": 1, "containers": [_sleeper()]},
            },
        },
    }


# KEDA's timing for the ScaledObjects the harness makes (KEDA's defaults: 30 s and 300 s): a poll of
# the trigger every 5 s, and scale to zero 10 s after the last active poll.
KEDA_POLLING_INTERVAL = 5
KEDA_COOLDOWN_PERIOD = 10


def scaled_object(name: str, target: str, query: str, threshold: float, min_replicas: int, max_replicas: int) -> Object:
    """KEDA scales `target` on a Prometheus query, polling fast and with no scale-down window so that
    a check sees both directions in seconds rather than KEDA's default five minutes."""
    return {
        "apiVersion": keda.API,
        "kind": "ScaledObject",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {"name": target},
            "pollingInterval": KEDA_POLLING_INTERVAL,
            "cooldownPeriod": KEDA_COOLDOWN_PERIOD,
            "minReplicaCount": min_replicas,
            "maxReplicaCount": max_replicas,
            "advanced": {
                "horizontalPodAutoscalerConfig": {
                    "behavior": {
                        "scaleDown": {
                            "stabilizationWindowSeconds": 0,
                            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 5}],
                        },
                        "scaleUp": {
                            "stabilizationWindowSeconds": 0,
                            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 5}],
                        },
                    }
                }
            },
            "triggers": [
                {
                    "type": "prometheus",
                    "metadata": {
                        "serverAddress": prometheus.SERVER_ADDRESS,
                        "query": query,
                        "threshold": str(threshold),
                    },
                }
            ],
        },
    }
