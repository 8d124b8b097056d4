"""Offline checks of Kubernetes objects for the deploy/ tests: no API server can run here."""

import json
import subprocess
from pathlib import Path

import pytest

MODELS = {"Pod": "V1Pod", "Deployment": "V1Deployment", "Job": "V1Job", "CronJob": "V1CronJob",
          "Service": "V1Service", "ConfigMap": "V1ConfigMap", "Namespace": "V1Namespace",
          "ServiceAccount": "V1ServiceAccount",
          "PersistentVolumeClaim": "V1PersistentVolumeClaim",
          "PodDisruptionBudget": "V1PodDisruptionBudget",
          "MutatingWebhookConfiguration": "V1MutatingWebhookConfiguration"}


def validate(obj: dict) -> None:
    """Deserializes into the Kubernetes client's model (Debian's python3-kubernetes): required
    fields and types checked."""
    try:
        from kubernetes import client
    except ImportError:
        pytest.fail("python3-kubernetes is not installed: apt-get install python3-kubernetes")

    class Response:
        data = json.dumps(obj)
    client.ApiClient().deserialize(Response(), MODELS[obj["kind"]])


def webhook_certificate(tmp: Path, san: str) -> tuple[Path, Path]:
    """A self-signed P-256 certificate for weft-control's webhook, as an operator would make one
    for weft-control.weft-system.svc; `san` is its subjectAltName."""
    cert, key = tmp / "webhook.pem", tmp / "webhook-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                    "/CN=weft-control.weft-system.svc", "-addext", f"subjectAltName={san}",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=30)
    return cert, key
