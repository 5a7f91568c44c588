"""Core objects the checks run: the tiny workloads the component checks drive the stack with (a Kueue
job, a metric exporter, a Deployment for KEDA), KEDA's ScaledObject, and the smoke checks' web pods
and Services."""

from __future__ import annotations

from harness.kube.labels import (
    HOSTNAME_LABEL,
    KEDA_API,
    KUEUE_QUEUE_LABEL,
    SCRAPE_ANNOTATION,
    SCRAPE_PORT_ANNOTATION,
)
from harness.kube.objects import Object, busybox_image
from harness.stack import prometheus

METRICS_PORT = 8080
TINY = {"requests": {"cpu": "10m", "memory": "16Mi"}}


def _sleeper(name: str = "main") -> Object:
    return {"name": name, "image": busybox_image(), "command": ["sleep", "3600"], "resources": TINY}


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
                    "image": busybox_image(),
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
        "apiVersion": KEDA_API,
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


def web_pod(name: str, node: str, port: int = 8080) -> Object:
    """A busybox httpd on `node` that answers with the node's name: a probe target for the network."""
    script = f"mkdir -p /www && echo $NODE_NAME > /www/index.html && exec httpd -f -p {port} -h /www"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web", "node": node}},
        "spec": {
            "nodeSelector": {HOSTNAME_LABEL: node},
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "web",
                    "image": busybox_image(),
                    "command": ["sh", "-c", script],
                    "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                    "ports": [{"containerPort": port}],
                    "readinessProbe": {"httpGet": {"path": "/", "port": port}, "periodSeconds": 2},
                    "resources": {"requests": {"cpu": "5m", "memory": "8Mi"}},
                }
            ],
        },
    }


def service(name: str, selector: dict[str, str], port: int, node_port: int | None = None) -> Object:
    spec: Object = {"selector": selector, "ports": [{"port": port, "targetPort": port}]}
    if node_port is not None:
        spec["type"] = "NodePort"
        spec["ports"][0]["nodePort"] = node_port
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}
