"""schemathesis against the mock's own OpenAPI document, in-process.

Each operation gets a bounded number of generated requests with a fixed seed; none may
get a server error, an undocumented status, or a reply that breaks the document.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mock_refiner import create_app
from tests.mock_refiner.conftest import KEY, deterministic_settings

SEED = {
    "api_key": KEY,
    "accounts": [{"remote_id": "acme", "display_name": "Acme"}],
    "contacts": [
        {"remote_id": "u1", "email": "ada@example.test", "account": "acme"},
        {"remote_id": "u2", "attributes": {"plan": "pro", "seats": 3}},
    ],
    "forms": [
        {
            "uuid": "f-nps",
            "name": "NPS",
            "published_at": "2026-01-01T00:00:00Z",
            "config": {"form_elements": [{"identifier": "score", "type": "nps"}]},
        }
    ],
    "segments": [{"uuid": "s-beta", "name": "Beta", "contacts": ["u1"]}],
    "responses": [
        {
            "uuid": "r-1",
            "form_uuid": "f-nps",
            "contact": "u1",
            "data": {"score": 9},
            "completed_at": "2026-01-01T00:00:00Z",
            "tags": ["vip"],
        }
    ],
}

app = create_app(deterministic_settings(), seed=SEED)
schema = schemathesis.openapi.from_wsgi("/__mock/openapi.json", app)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_no_reply_outside_the_document(case):
    """Fault rules a case adds are cleared after it, so no later case (in any order
    or worker) meets a generated delay or status."""
    try:
        case.call_and_validate(
            headers={"Authorization": f"Bearer {KEY}"}, checks=CHECKS
        )
    finally:
        app.extensions["mock_refiner"].faults.clear()
