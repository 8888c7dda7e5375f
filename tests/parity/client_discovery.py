"""The MCP Python client (`mcp` 2.3.0) runs its authorization discovery against an MCP server.

Usage: client_discovery.py <MCP server URL, e.g. http://127.0.0.1:PORT/mcp>

Prints ONE JSON line on stdout (diagnostics go to stderr) and exits 0 when the library accepted
what the server serves, 1 otherwise. Used by tests/python_client_interop.rs with the venv of
tests/parity/setup-venv.sh.

Everything that parses or decides below is the library's own client code; this script only sends
the requests (with `httpx2`, the HTTP client `mcp` 2.3.0 is built on: it has no `httpx`
dependency any more) and records what came back. Two passes:

1. "helpers": the discovery step written out with the helpers `OAuthClientProvider` itself calls,
   in the order it calls them:
   - `mcp.client.streamable_http.StreamableHTTPTransport._prepare_headers` (the POST headers the
     real transport sends) and `mcp.shared._httpx_utils.request_within_origin` (how the transport
     sends a request);
   - `mcp.client.auth.utils.extract_resource_metadata_from_www_auth` and
     `extract_scope_from_www_auth` (WWW-Authenticate parsing);
   - `mcp.client.auth.utils.build_protected_resource_metadata_discovery_urls` (SEP-985 URL order);
   - `mcp.client.auth.utils.create_oauth_metadata_request` (the GET it sends for each URL) and
     `handle_protected_resource_response` (which parses the body with the pydantic model
     `mcp.shared.auth.ProtectedResourceMetadata`);
   - `mcp.shared.auth_utils.resource_url_from_server_url` and `check_resource_allowed`, which
     `OAuthClientProvider._validate_resource_match` uses to accept or reject the PRM `resource`.
2. "provider": the real `mcp.client.auth.OAuthClientProvider` as an `httpx2.Auth`, i.e. its
   `async_auth_flow` (`RedirectAwareAuth.async_auth_flow` driving `OAuthClientProvider._auth_flow`),
   started by an unauthenticated initialize POST. The flow gets the 401, discovers and validates
   the PRM (`_validate_resource_match`), stores it in `provider.context`, selects the
   authorization server, and then tries to fetch that server's RFC 8414 metadata. That request
   goes to https://auth.example.com, which does not exist: a transport routes that host (and only
   that host) to an exception, so the flow stops exactly where it would leave the resource server.
   What it stored in its context (`protected_resource_metadata`, `auth_server_url`,
   `get_resource_url()`) is reported.
"""

import json
import sys
from typing import Any

import anyio
import httpx2
from mcp_types import LATEST_PROTOCOL_VERSION
from pydantic import AnyUrl

from mcp.client.auth import OAuthClientProvider, OAuthFlowError
from mcp.client.auth.utils import (
    build_protected_resource_metadata_discovery_urls,
    create_oauth_metadata_request,
    extract_resource_metadata_from_www_auth,
    extract_scope_from_www_auth,
    handle_protected_resource_response,
)
from mcp.client.streamable_http import StreamableHTTPTransport
from mcp.shared._httpx_utils import request_within_origin
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from mcp.shared.auth_utils import check_resource_allowed, resource_url_from_server_url

AUTHORIZATION_SERVER_HOST = "auth.example.com"
TIMEOUT = httpx2.Timeout(10.0)


def initialize_body() -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": LATEST_PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "axum-bearer client_discovery.py", "version": "0"},
        },
    }


def prm_summary(prm: Any) -> dict[str, Any] | None:
    """How the library's model renders the document (`str()` of its AnyHttpUrl fields)."""
    if prm is None:
        return None
    return {
        "resource": str(prm.resource),
        "authorization_servers": [str(url) for url in prm.authorization_servers],
        "scopes_supported": prm.scopes_supported,
        "bearer_methods_supported": prm.bearer_methods_supported,
        "resource_name": prm.resource_name,
    }


async def helpers_pass(server_url: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with httpx2.AsyncClient(timeout=TIMEOUT) as client:
        # The unauthenticated initialize POST, with the real transport's headers.
        headers = StreamableHTTPTransport(server_url)._prepare_headers()
        response = await request_within_origin(client, "POST", server_url, json=initialize_body(), headers=headers)
        out["status"] = response.status_code
        out["www_authenticate"] = response.headers.get("WWW-Authenticate")
        resource_metadata = extract_resource_metadata_from_www_auth(response)
        out["resource_metadata"] = resource_metadata
        out["scope"] = extract_scope_from_www_auth(response)

        # The library's discovery order, then each URL as it fetches and parses it.
        urls = build_protected_resource_metadata_discovery_urls(resource_metadata, server_url)
        out["discovery_urls"] = urls
        fetched: list[dict[str, Any]] = []
        prm = None
        for url in urls:
            discovery = await client.send(create_oauth_metadata_request(url))
            parsed = await handle_protected_resource_response(discovery)
            fetched.append({"url": url, "status": discovery.status_code, "parsed": parsed is not None})
            if parsed is not None and prm is None:
                prm = parsed
                out["prm_url"] = url
                out["raw_document"] = json.loads(discovery.content)
        out["fetched"] = fetched
        out["prm"] = prm_summary(prm)

        # The validation `OAuthClientProvider._validate_resource_match` applies (RFC 8707).
        expected = resource_url_from_server_url(server_url)
        out["resource_url_from_server_url"] = expected
        out["check_resource_allowed"] = (
            prm is not None and check_resource_allowed(requested_resource=expected, configured_resource=str(prm.resource))
        )
    return out


class InMemoryStorage:
    """`mcp.client.auth.TokenStorage`: nothing stored, so the provider starts from scratch."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class ReachedAuthorizationServer(Exception):
    """The flow tried to contact the authorization server: discovery on the resource side is done."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


class StopAtAuthorizationServer(httpx2.AsyncBaseTransport):
    """Real HTTP to the resource server; the authorization server's host raises instead."""

    def __init__(self) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.log: list[dict[str, Any]] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        entry: dict[str, Any] = {"method": request.method, "url": str(request.url), "status": None}
        self.log.append(entry)
        if request.url.host == AUTHORIZATION_SERVER_HOST:
            raise ReachedAuthorizationServer(str(request.url))
        response = await self.inner.handle_async_request(request)
        entry["status"] = response.status_code
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def provider_pass(server_url: str) -> dict[str, Any]:
    async def redirect_handler(url: str) -> None:  # never reached: the flow stops before authorizing
        raise AssertionError(f"unexpected authorization redirect to {url}")

    async def callback_handler() -> AuthorizationCodeResult:
        raise AssertionError("unexpected authorization callback")

    provider = OAuthClientProvider(
        server_url=server_url,
        client_metadata=OAuthClientMetadata(
            client_name="axum-bearer client_discovery.py",
            redirect_uris=[AnyUrl("http://127.0.0.1:1/callback")],
        ),
        storage=InMemoryStorage(),
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )
    transport = StopAtAuthorizationServer()
    out: dict[str, Any] = {"stopped_at": None, "error": None, "final_status": None}
    async with httpx2.AsyncClient(auth=provider, transport=transport, timeout=TIMEOUT) as client:
        headers = StreamableHTTPTransport(server_url)._prepare_headers()
        try:
            # httpx2 runs provider.async_auth_flow around this request.
            response = await request_within_origin(client, "POST", server_url, json=initialize_body(), headers=headers)
            out["final_status"] = response.status_code
        except ReachedAuthorizationServer as stop:
            out["stopped_at"] = stop.url
        except OAuthFlowError as error:  # e.g. `_validate_resource_match` rejected the PRM resource
            out["error"] = f"OAuthFlowError: {error}"
        except Exception as error:  # noqa: BLE001 - reported, and the test fails on it
            out["error"] = f"{type(error).__name__}: {error}"
    out["requests"] = transport.log
    context = provider.context
    out["prm"] = prm_summary(context.protected_resource_metadata)
    out["auth_server_url"] = context.auth_server_url
    # The RFC 8707 `resource` the client would send to the authorization server.
    out["resource_url"] = context.get_resource_url()
    # The flow stores the PRM only after `_validate_resource_match` passed, and only then goes on
    # to the authorization server; so reaching it with a PRM stored means the document was accepted.
    out["accepted"] = (
        out["error"] is None
        and out["stopped_at"] is not None
        and context.protected_resource_metadata is not None
        and context.auth_server_url is not None
    )
    return out


async def main(server_url: str) -> int:
    with anyio.fail_after(30):
        helpers = await helpers_pass(server_url)
        provider = await provider_pass(server_url)
    prm = helpers["prm"] or {}
    report: dict[str, Any] = {
        "server_url": server_url,
        "status": helpers["status"],
        "resource_metadata": helpers["resource_metadata"],
        "scope": helpers["scope"],
        "resource": prm.get("resource"),
        "authorization_servers": prm.get("authorization_servers"),
        # RFC 9728 §3.3 asks for an identical `resource`; the library's own check is the looser
        # hierarchical `check_resource_allowed`, so report both.
        "resource_identical": prm.get("resource") == server_url,
        "accepted": bool(helpers["check_resource_allowed"] and provider["accepted"]),
        "helpers": helpers,
        "provider": provider,
    }
    problems = []
    if report["status"] != 401:
        problems.append(f"expected 401, got {report['status']}")
    if not report["resource_metadata"]:
        problems.append("no resource_metadata in WWW-Authenticate")
    if helpers["prm"] is None:
        problems.append("no protected resource metadata parsed")
    if not report["accepted"]:
        problems.append("the library did not accept the protected resource metadata")
    report["problems"] = problems
    print(json.dumps(report, sort_keys=True), flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: client_discovery.py <MCP server URL>", file=sys.stderr)
        sys.exit(2)
    sys.exit(anyio.run(main, sys.argv[1]))
