"""Entry point of `payment_webhooks`: signed provider webhooks, recorded once.

Routes (PRODUCT.md, "Webhooks"): ``POST /v1/webhooks/stripe``,
``/v1/webhooks/adyen`` and ``/v1/webhooks/standard/{source}``.

Answers: 200 once every provider event of the delivery is durably recorded,
or was before (Adyen's body is ``[accepted]``); 401 when a signature does
not hold; 400 for a verified body that is not an event; 404 for an unknown
path or source; 405 for another method; 413 for a body over 1 MiB; 500 when
a secret is not configured; 503 when Firestore or Pub/Sub is unavailable,
so that the provider retries. Errors are problem+json.
"""

from __future__ import annotations

import json
import logging

import flask
import functions_framework

from common.startup import pause_garbage_collection

# Imported with the collector paused: see common/startup.py.
with pause_garbage_collection():
    # Every delivery records to Firestore and its outbox publishes to Pub/Sub:
    # import both libraries as the instance starts, before it serves, not inside
    # the first request's thread; the clients are still made on first use.
    from google.cloud import firestore, pubsub_v1  # noqa: F401

    from common.errors import CrmError, MethodNotAllowedError, PayloadTooLargeError
    from common.logs import configure_logging, invocation, log_fields
    from common.payments.providers.adyen import ACCEPTED_BODY
    from common.payments.store import PaymentLedger
    from common.payments.webhooks import (
        MAX_BODY_BYTES,
        WebhookDelivery,
        WebhookReceipt,
        receive_webhook,
        route,
        signature_headers,
    )
    from common.problems import internal_error_response, problem_response

    configure_logging("payment_webhooks")
    logger = logging.getLogger("payment_webhooks")
    LEDGER = PaymentLedger()


@functions_framework.http
def payment_webhooks(request: flask.Request) -> flask.Response:
    """Verify, record and normalise one provider delivery."""
    with invocation("http", headers=request.headers) as current:
        try:
            delivery = _delivery(request)
            current.add_fields(provider=delivery.provider)
            receipt = receive_webhook(delivery, LEDGER)
        except CrmError as exc:
            current.outcome = exc.code
            _log_refusal(exc)
            return problem_response(exc, instance=request.path)
        except Exception:
            current.outcome = "unexpected_error"
            logger.exception("webhook failed")
            return internal_error_response(instance=request.path)

        current.outcome = "duplicate" if receipt.recorded == 0 else "recorded"
        return _acknowledgement(receipt)


def _delivery(request: flask.Request) -> WebhookDelivery:
    provider, source = route(request.path)
    if request.method != "POST":
        raise MethodNotAllowedError(allowed=("POST",))

    body = _body(request)
    headers = {
        name: value
        for name in signature_headers(provider)
        if (value := request.headers.get(name)) is not None
    }
    return WebhookDelivery(provider=provider, body=body, headers=headers, source=source)


def _body(request: flask.Request) -> bytes:
    declared = request.content_length
    if declared is not None and declared > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"expected at most {MAX_BODY_BYTES} bytes")

    # Read one byte more than allowed: a chunked body declares no length.
    body = request.stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"expected at most {MAX_BODY_BYTES} bytes")
    return body


def _acknowledgement(receipt: WebhookReceipt) -> flask.Response:
    if receipt.provider == "adyen":
        # Adyen accepts any 2xx; this body is the one its documentation shows.
        return flask.Response(ACCEPTED_BODY, status=200, mimetype="text/plain")
    body = {"received": True, "recorded": receipt.recorded}
    body["duplicates"] = receipt.duplicates
    return flask.Response(json.dumps(body), status=200, mimetype="application/json")


def _log_refusal(exc: CrmError) -> None:
    fields = log_fields(code=exc.code, http_status=exc.http_status)
    if exc.http_status >= 500:
        logger.error("webhook not recorded", extra=fields)
    else:
        logger.warning("webhook refused", extra=fields)
