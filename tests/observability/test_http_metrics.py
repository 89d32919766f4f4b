"""HTTP request metrics of a real service process (ingestion, started alone on its own broker and database):
counted by method, route template and status class, probes and scrapes left out."""

import re
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from regua_localstack.stack import LocalStack


@pytest.fixture(scope="module")
def ingestion() -> Iterator[str]:
    local = LocalStack(workdir=Path(tempfile.mkdtemp(prefix="regua-http-metrics-")))
    try:
        local.start_infra()
        local.start_services(["ingestion"])
        yield local.url("ingestion")
    finally:
        local.stop()


def _series(metrics: str, name: str) -> dict[str, float]:
    """``{labels: value}`` of one metric in the Prometheus text format."""
    return {m.group(1): float(m.group(2)) for m in re.finditer(rf"^{name}\{{(.*?)\}} (\S+)$", metrics, re.M)}


def test_requests_are_counted_by_route_template_and_status_class(ingestion: str) -> None:
    invoice_ids = [str(uuid.uuid4()) for _ in range(3)]
    with httpx.Client(base_url=ingestion, timeout=30) as client:
        for invoice_id in invoice_ids:
            assert client.get(f"/v1/invoices/{invoice_id}").status_code // 100 == 4  # no credentials
        assert client.get(f"/no/such/{invoice_ids[0]}").status_code == 404
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        metrics = client.get("/metrics/").text

    counts = _series(metrics, "regua_http_requests_total")
    assert counts['method="GET",route="/v1/invoices/{invoice_id}",status="4xx"'] == 3
    assert counts['method="GET",route="unmatched",status="4xx"'] == 1
    assert not [labels for labels in counts if any(i in labels for i in invoice_ids)]  # never the raw path
    assert not [labels for labels in counts if "healthz" in labels or "readyz" in labels or "metrics" in labels]
    assert re.search(r"^regua_outbox_oldest_unpublished_age_seconds \S+$", metrics, re.M)
    latency = _series(metrics, "regua_http_request_duration_seconds_count")
    assert latency['method="GET",route="/v1/invoices/{invoice_id}"'] == 3
