"""The few API server calls the driver makes, over HTTPS with the pod's service account (standard
library only, so the image needs nothing but Debian's python3)."""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
FIELD_MANAGER = "fake-gpu"


class APIError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


@dataclass(frozen=True)
class APIServer:
    url: str
    token_file: Path
    context: ssl.SSLContext

    @classmethod
    def in_cluster(cls) -> APIServer:
        host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
        if not host or not port:
            raise RuntimeError("KUBERNETES_SERVICE_HOST/PORT unset: not running in a pod")
        context = ssl.create_default_context(cafile=str(SERVICE_ACCOUNT / "ca.crt"))
        return cls(f"https://{host}:{port}", SERVICE_ACCOUNT / "token", context)

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        # The token is re-read every call: the kubelet rotates projected tokens.
        headers = {"Authorization": f"Bearer {self.token_file.read_text().strip()}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, context=self.context, timeout=30) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            with contextlib.suppress(json.JSONDecodeError, AttributeError):
                detail = json.loads(detail).get("message", detail)
            raise APIError(e.code, f"{method} {path}: {detail}") from e

    def apply(self, path: str, obj: dict[str, Any]) -> Any:
        """Server-side apply (JSON is YAML), owning every field it sets."""
        return self.request(
            "PATCH", f"{path}?fieldManager={FIELD_MANAGER}&force=true", obj, "application/apply-patch+yaml"
        )
