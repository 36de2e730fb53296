"""The gateway stand-in: longest prefix wins, anything else is a 404 problem."""

from __future__ import annotations

import json

import pytest
from werkzeug.test import Client

from emulators.gateway import Gateway

ROUTES = {
    "/v1/customers": "http://127.0.0.1:9001",
    "/v1/customers/admin": "http://127.0.0.1:9002",
    "/v1/webhooks": "http://127.0.0.1:9003",
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/customers", "http://127.0.0.1:9001"),
        ("/v1/customers/abc/documents", "http://127.0.0.1:9001"),
        ("/v1/customers/admin/x", "http://127.0.0.1:9002"),
        ("/v1/webhooks/stripe", "http://127.0.0.1:9003"),
        ("/v1/customersx", None),
        ("/v1", None),
        ("/", None),
    ],
)
def test_gateway_route_picks_longest_owning_prefix(
    path: str, expected: str | None
) -> None:
    assert Gateway(ROUTES).route(path) == expected


def test_gateway_unowned_path_answers_problem_json() -> None:
    response = Client(Gateway(ROUTES)).get("/v1/unknown")

    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = json.loads(response.get_data())
    assert problem["code"] == "route_not_found"
    assert problem["instance"] == "/v1/unknown"


def test_gateway_dead_backend_answers_502_problem() -> None:
    gateway = Gateway({"/v1/customers": "http://127.0.0.1:9"})

    response = Client(gateway).get("/v1/customers/1")

    assert response.status_code == 502
    assert json.loads(response.get_data())["code"] == "backend_unavailable"
