"""Small builders for the tiny workloads the component checks drive the stack with (a Kueue job, a
metric exporter, a Deployment for KEDA) and KEDA's ScaledObject."""

from __future__ import annotations

from harness import versions
from harness.kube.labels import (
    KEDA_API,
    KUEUE_QUEUE_LABEL,
    SCRAPE_ANNOTATION,
    SCRAPE_PORT_ANNOTATION,
)
from harness.kube.objects import Object
from harness.stack import prometheus

METRICS_PORT = 8080
TINY = {"requests": {"cpu": "10m", "memory": "16Mi"}}


def busybox() -> str:
    return str(versions.pinned()["busybox"]["image"])


def _sleeper(name: str = "main") -> Object:
    return {"name": name, "image": busybox(), "command": ["sleep", "3600"], "resources": TINY}


def queued_job(name: str, queue: str, cpu: str, parallelism: int = 1) -> Object:
    """A suspended Job for `queue`: Kueue unsuspends it when it admits the workload."""
    container = {**_sleeper(), "command": ["sleep", "30"], "resources": {"requests": {"cpu": cpu, "memory": "16Mi"}}}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": {KUEUE_QUEUE_LABEL: queue}},
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
    annotations = {SCRAPE_ANNOTATION: "true", SCRAPE_PORT_ANNOTATION: str(METRICS_PORT)} if scrape else {}
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


def scaled_object(name: str, target: str, query: str, threshold: float, min_replicas: int, max_replicas: int) -> Object:
    """KEDA scales `target` on a Prometheus query, polling fast and with no scale-down window so that
    a check sees both directions in seconds rather than KEDA's default five minutes."""
    return {
        "apiVersion": KEDA_API,
        "kind": "ScaledObject",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {"name": target},
            "pollingInterval": 5,
            "cooldownPeriod": 10,
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
