"""The floor handlers: sources that serve, making only the calls they name."""

from __future__ import annotations

import ast

import pytest

from bench.floors import CUSTOMER_GET_FLOOR, CUSTOMER_POST_FLOOR, WEBHOOK_FLOOR
from common.clients import PUBLISH_MAX_LATENCY_S

pytestmark = pytest.mark.unit

FLOORS = {
    "webhook": WEBHOOK_FLOOR,
    "customer GET": CUSTOMER_GET_FLOOR,
    "customer POST": CUSTOMER_POST_FLOOR,
}


def _calls(tree: ast.AST) -> set[str]:
    return {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }


@pytest.mark.parametrize("source", FLOORS.values(), ids=FLOORS.keys())
def test_a_floor_is_an_http_function_named_bare(source: str) -> None:
    tree = ast.parse(source)

    handlers = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == "bare"
    ]
    assert len(handlers) == 1
    assert [ast.unparse(d) for d in handlers[0].decorator_list] == [
        "functions_framework.http"
    ]


@pytest.mark.parametrize(
    ("source", "required"),
    [
        (WEBHOOK_FLOOR, {"get", "create", "commit", "publish", "result"}),
        (CUSTOMER_GET_FLOOR, {"verify_id_token", "get"}),
        (CUSTOMER_POST_FLOOR, {"verify_id_token", "create", "commit", "publish"}),
    ],
    ids=FLOORS.keys(),
)
def test_a_floor_makes_the_calls_its_contract_requires(
    source: str, required: set[str]
) -> None:
    assert required <= _calls(ast.parse(source))


@pytest.mark.parametrize("source", [CUSTOMER_GET_FLOOR, CUSTOMER_POST_FLOOR])
def test_customer_floors_check_revocation_as_the_api_does(source: str) -> None:
    assert "check_revoked=True" in source


@pytest.mark.parametrize("source", [WEBHOOK_FLOOR, CUSTOMER_POST_FLOOR])
def test_publishing_floors_batch_as_the_product_does(source: str) -> None:
    assert f"max_latency={PUBLISH_MAX_LATENCY_S!r}" in source
