"""Reference server for the parity test: the MCP Python SDK's bearer gate, served by uvicorn.

Run with the venv made by tests/parity/setup-venv.sh (mcp 2.3.0, uvicorn 0.54.0):

    target/parity-venv/bin/python tests/parity/reference_server.py

It wires Starlette exactly as `MCPServer` / lowlevel `Server.streamable_http_app` do in
mcp 2.3.0 (app-level `AuthenticationMiddleware(BearerAuthBackend(...))` then
`AuthContextMiddleware`; routes wrapped in `RequireAuthMiddleware`; the RFC 9728 PRM route),
with the MCP transport replaced by a tiny ASGI app answering `200 ok <client_id>`.

Protocol with the test harness:
  * binds 127.0.0.1 on an OS-chosen port and, once listening, prints exactly one line
    `LISTENING <port>` to stdout (everything else goes to stderr);
  * exits (os._exit(0)) as soon as its stdin reaches EOF, so it never outlives the test.
    Pass `--ignore-stdin` to run it by hand with no stdin pipe.
  * `--no-resource-check` builds the backend without `resource_server_url`
    (what 2.3.0 does when `AuthSettings.validate_token_resource` is unset/False).

Extra, unauthenticated routes (the app-level AuthenticationMiddleware still runs on them):
  GET  /__calls  -> JSON list of the token strings the verifier was called with, in order
  POST /__reset  -> clears that list, answers 204
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import threading
import time

# Only the LISTENING line may reach stdout: keep the real stdout for it and send any
# stray print() (ours or a library's) to stderr.
_REAL_STDOUT = sys.stdout
sys.stdout = sys.stderr

import uvicorn  # noqa: E402
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware  # noqa: E402
from mcp.server.auth.middleware.bearer_auth import (  # noqa: E402
    AuthenticatedUser,
    BearerAuthBackend,
    RequireAuthMiddleware,
)
from mcp.server.auth.provider import AccessToken  # noqa: E402
from mcp.server.auth.routes import (  # noqa: E402
    build_resource_metadata_url,
    create_protected_resource_routes,
)
from mcp.server.auth.settings import AuthSettings  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402
from starlette.middleware.authentication import AuthenticationMiddleware  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402
from starlette.types import Receive, Scope, Send  # noqa: E402

RESOURCE = "http://127.0.0.1:8000/mcp"
ISSUER = "https://auth.example.com/"
METADATA_URL = "http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp"

_NOW = int(time.time())
_UNSET = object()

# token -> (client_id, scopes, expires_at, resource)
FIXTURES: dict[str, tuple[str, list[str], object, object]] = {
    "tok-read": ("client-read", ["mcp:read"], _UNSET, _UNSET),
    "tok-rw": ("client-rw", ["mcp:read", "mcp:write"], _UNSET, _UNSET),
    "tok-write": ("client-write", ["mcp:write"], _UNSET, _UNSET),
    "tok-none": ("client-none", [], _UNSET, _UNSET),
    "tok-expired": ("client-exp", ["mcp:read"], _NOW - 3600, _UNSET),
    "tok-noexp": ("client-noexp", ["mcp:read"], None, _UNSET),
    "tok-other-resource": ("client-other", ["mcp:read"], _UNSET, "https://other.example/mcp"),
    "tok-no-resource": ("client-nores", ["mcp:read"], _UNSET, None),
    "tok-resource-slash": ("client-slash", ["mcp:read"], _UNSET, "http://127.0.0.1:8000/mcp/"),
    "tok-resource-case": ("client-case", ["mcp:read"], _UNSET, "HTTP://127.0.0.1:8000/mcp"),
    "abc==": ("client-pad", ["mcp:read"], _UNSET, _UNSET),
    "tok-Upper": ("client-upper", ["MCP:READ"], _UNSET, _UNSET),
}


class DictTokenVerifier:
    """A `TokenVerifier` backed by FIXTURES that records every token it is asked about."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def verify_token(self, token: str) -> AccessToken | None:
        self.calls.append(token)
        fixture = FIXTURES.get(token)
        if fixture is None:
            return None
        client_id, scopes, expires_at, resource = fixture
        return AccessToken(
            token=token,
            client_id=client_id,
            scopes=list(scopes),
            expires_at=_NOW + 3600 if expires_at is _UNSET else expires_at,
            resource=RESOURCE if resource is _UNSET else resource,
        )


async def inner_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Stands in for the MCP transport: 200 text/plain `ok <client_id>`."""
    user = scope.get("user")
    client_id = user.display_name if isinstance(user, AuthenticatedUser) else ""
    body = f"ok {client_id}".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def build_app(verifier: DictTokenVerifier, resource_check: bool = True) -> Starlette:
    # Built the way MCPServer receives its settings, so the URL objects have the same types
    # and normalisation as in the reference (AuthSettings has url_preserve_empty_path=True).
    auth = AuthSettings(
        issuer_url=ISSUER,  # type: ignore[arg-type]
        resource_server_url=RESOURCE,  # type: ignore[arg-type]
        required_scopes=["mcp:read"],
        validate_token_resource=resource_check,
    )
    assert auth.resource_server_url is not None

    # Same list, same order, same constructor call as mcp 2.3.0 server.py.
    middleware = [
        Middleware(
            AuthenticationMiddleware,
            backend=BearerAuthBackend(
                verifier,  # type: ignore[arg-type]
                resource_server_url=auth.resource_server_url if auth.validate_token_resource else None,
            ),
        ),
        Middleware(AuthContextMiddleware),
    ]

    resource_metadata_url = build_resource_metadata_url(auth.resource_server_url)
    assert str(resource_metadata_url) == METADATA_URL, str(resource_metadata_url)

    async def calls(request: Request) -> Response:
        return JSONResponse(verifier.calls)

    async def reset(request: Request) -> Response:
        verifier.calls.clear()
        return Response(status_code=204)

    routes = [
        # No `methods=`: like the reference MCP route, every method reaches the gate.
        Route("/mcp", endpoint=RequireAuthMiddleware(inner_app, ["mcp:read"], resource_metadata_url)),
        Route("/rw", endpoint=RequireAuthMiddleware(inner_app, ["mcp:read", "mcp:write"], resource_metadata_url)),
        Route("/plain", endpoint=RequireAuthMiddleware(inner_app, ["mcp:read"])),
        *create_protected_resource_routes(
            resource_url=auth.resource_server_url,
            authorization_servers=[auth.issuer_url],
            scopes_supported=auth.required_scopes,
        ),
        Route("/__calls", endpoint=calls, methods=["GET"]),
        Route("/__reset", endpoint=reset, methods=["POST"]),
    ]
    # redirect_slashes left at Starlette's default (True), as in the reference.
    return Starlette(debug=False, routes=routes, middleware=middleware)


def _exit_on_stdin_eof() -> None:
    try:
        while sys.stdin.buffer.read(65536):
            pass
    finally:
        os._exit(0)


async def _serve(app: Starlette) -> None:
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        # Pinned: "auto" would switch to httptools whenever it happens to be installed,
        # and the two parsers differ in what they reject and how. h11 is pure Python,
        # pinned in setup-venv.sh, and is what a plain `pip install mcp uvicorn` runs.
        http="h11",
        ws="none",
        lifespan="off",
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
            raise SystemExit("uvicorn exited before listening")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    _REAL_STDOUT.write(f"LISTENING {port}\n")
    _REAL_STDOUT.flush()
    await task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ignore-stdin", action="store_true", help="do not exit on stdin EOF")
    parser.add_argument("--no-resource-check", action="store_true", help="BearerAuthBackend without resource_server_url")
    args = parser.parse_args()

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    if not args.ignore_stdin:
        threading.Thread(target=_exit_on_stdin_eof, name="stdin-eof", daemon=True).start()

    app = build_app(DictTokenVerifier(), resource_check=not args.no_resource_check)
    asyncio.run(_serve(app))


if __name__ == "__main__":
    main()
