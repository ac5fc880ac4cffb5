"""A bounded schemathesis run over the OpenAPI document: no input may produce a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from helpers.api import bearer, make_settings, train_tiny_models
from hypothesis import HealthCheck, Phase, given, settings

from voc_api.app import create_app

pytestmark = pytest.mark.slow  # whole file: left out of the fast lane (make test-fast)


@pytest.fixture(scope="module")
def running_app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api_schema")
    app = create_app(make_settings(tmp, train_tiny_models(tmp / "models")), start_sender=False)
    with TestClient(app):  # runs the lifespan: pipeline loaded, thread pool up
        yield app


def test_openapi_fuzz_has_no_server_errors(running_app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", running_app)
    admin = bearer(running_app.state.voc.sessions, "admin")
    failures: list[str] = []
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 15

    def fuzz(op) -> None:
        @settings(max_examples=15, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def run(case) -> None:
            resp = case.call(headers=admin)
            if resp.status_code >= 500:
                failures.append(f"{op.method.upper()} {op.path}: {resp.status_code} {resp.text[:200]}")
            elif resp.status_code >= 400:
                ctype = resp.headers.get("content-type") or [""]
                assert ctype[0].startswith("application/problem+json"), (op.path, resp.status_code, resp.text)

        run()

    for op in operations:
        fuzz(op)
    assert not failures, failures
