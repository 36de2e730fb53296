"""The API Gateway stand-in: one port that routes `/v1/...` to the functions."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import urllib3

from common.errors import CrmError, NotFoundError
from common.problems import PROBLEM_CONTENT_TYPE, problem_body

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

ROUTES_ENV = "CRM_GATEWAY_ROUTES"
ROUTE_NOT_FOUND = NotFoundError("No function serves this path.", code="route_not_found")


class BackendUnavailableError(CrmError):
    """The function that owns the path did not answer (a gateway's 502)."""

    code = "backend_unavailable"
    http_status = 502
    title = "Bad gateway"
    detail = "The function serving this path did not answer."


BACKEND_UNAVAILABLE = BackendUnavailableError()
# RFC 9110 section 7.6.1: connection-specific fields are not forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)


class Gateway:
    """A WSGI app that forwards each request to the function owning its prefix.

    Method, path, query, headers and body pass unchanged, as API Gateway does
    with `path_translation: APPEND_PATH_TO_ADDRESS`.
    """

    def __init__(self, routes: dict[str, str]) -> None:
        # Longest prefix first, so `/v1/a/b` wins over `/v1/a`.
        self._routes = sorted(routes.items(), key=lambda item: -len(item[0]))
        self._pool = urllib3.PoolManager(maxsize=64, retries=False)

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        backend = self.route(path)
        if backend is None:
            return _problem(start_response, ROUTE_NOT_FOUND, path)

        try:
            response = self._forward(environ, backend + _path_and_query(environ))
        except urllib3.exceptions.HTTPError:
            return _problem(start_response, BACKEND_UNAVAILABLE, path)

        headers = [
            (name, value)
            for name, value in response.headers.items()
            if name.lower() not in HOP_BY_HOP
        ]
        if environ["REQUEST_METHOD"] != "HEAD":
            headers.append(("Content-Length", str(len(response.data))))
        start_response(f"{response.status} {response.reason or ''}".strip(), headers)
        return [response.data]

    def route(self, path: str) -> str | None:
        """The backend base URL that owns `path`, or None."""
        for prefix, backend in self._routes:
            if path == prefix or path.startswith(prefix + "/"):
                return backend
        return None

    def _forward(self, environ: WSGIEnvironment, url: str) -> urllib3.BaseHTTPResponse:
        body = environ["wsgi.input"].read() or None
        return self._pool.request(
            environ["REQUEST_METHOD"],
            url,
            body=body,
            headers=_request_headers(environ),
            redirect=False,
            timeout=urllib3.Timeout(connect=5.0, read=3600.0),
        )


def create_app() -> Gateway:
    """Build the gateway from the routes file the platform writes."""
    document = json.loads(Path(os.environ[ROUTES_ENV]).read_text())
    return Gateway(document["routes"])


def _path_and_query(environ: WSGIEnvironment) -> str:
    path = environ.get("RAW_URI") or environ.get("PATH_INFO", "")
    if "?" in path:
        return str(path)
    query = environ.get("QUERY_STRING", "")
    return f"{path}?{query}" if query else str(path)


def _request_headers(environ: WSGIEnvironment) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").title(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = str(environ["CONTENT_TYPE"])
    # The backend's own host, as API Gateway sends it; the caller's is kept.
    caller_host = headers.pop("Host", "")
    headers["X-Forwarded-Host"] = caller_host
    headers["X-Forwarded-For"] = str(environ.get("REMOTE_ADDR", ""))
    return {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}


def _problem(
    start_response: StartResponse, error: CrmError, path: str
) -> Iterable[bytes]:
    body = json.dumps(problem_body(error, instance=path)).encode()
    start_response(
        f"{error.http_status} {error.title}",
        [
            ("Content-Type", PROBLEM_CONTENT_TYPE),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]
