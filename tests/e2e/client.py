"""The MCP Python client (`mcp` 2.3.0: `mcp.Client` over `streamable_http_client`, with
`mcp.client.auth.OAuthClientProvider` as the httpx2 auth) through the whole OAuth flow, starting
with no token. The same flow and report shape as client.mjs (the TypeScript SDK client).

Usage: client.py <MCP server URL, e.g. http://127.0.0.1:PORT/mcp>
(with the venv of tests/parity/setup-venv.sh: target/parity-venv/bin/python)

Prints ONE JSON line (the report) on stdout and exits 0 when every step went as expected, 1
otherwise. The report never holds a token, a code or a PKCE verifier.

The Python provider runs the whole authorization inside the request that met the 401 (or the 403
`insufficient_scope`: it steps up by itself, asking for the union of the scopes it had and the
ones the challenge names), so the steps are:
  a.session   connect (401 → metadata → AS metadata → registration → authorize → token →
              initialize), tools/list, tools/call whoami
  a.step-up   tools/call admin_echo: 403 → authorize with the larger scope → token → 200
  b.session   client B, its own registration, token and session
  b.hijack    B's token with A's Mcp-Session-Id → 404
  a.after     A's session still works
The headless user agent (redirect_handler) follows the authorization server's redirects and
submits its consent form if it shows one, and keeps the code that reaches the redirect_uri (which
is never contacted).
"""

import json
import os
import sys
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import anyio
import httpx2
from pydantic import AnyUrl

from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

TIMEOUT = httpx2.Timeout(15.0)
OVERALL_TIMEOUT = float(os.environ.get("E2E_CLIENT_TIMEOUT_MS", "60000")) / 1000
ADMIN_SCOPE = os.environ.get("E2E_ADMIN_SCOPE", "mcp:admin")

report: dict[str, Any] = {"ok": False, "sdk": "mcp (Python)", "steps": [], "http": [], "failures": []}
current_step = "start"


def check(condition: bool, message: str) -> bool:
    if not condition:
        report["failures"].append(f"{current_step}: {message}")
    return condition


def loopback_only(url: httpx2.URL) -> None:
    if url.host not in ("127.0.0.1", "localhost"):
        raise RuntimeError(f"refusing to contact {url.host}: the e2e test stays on loopback")


class Tracking(httpx2.AsyncBaseTransport):
    """Real HTTP, loopback only; every exchange lands in report["http"]."""

    def __init__(self, who: str) -> None:
        self.who = who
        self.inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        loopback_only(request.url)
        url = request.url
        entry: dict[str, Any] = {
            "step": current_step,
            "client": self.who,
            "method": request.method,
            "url": f"{url.scheme}://{url.netloc.decode()}{url.path}",
            "authorization": "authorization" in request.headers,
        }
        if "mcp-session-id" in request.headers:
            entry["session_sent"] = request.headers["mcp-session-id"]
        report["http"].append(entry)
        response = await self.inner.handle_async_request(request)
        entry["status"] = response.status_code
        if "www-authenticate" in response.headers:
            entry["www_authenticate"] = response.headers["www-authenticate"]
        if "mcp-session-id" in response.headers:
            entry["session_received"] = response.headers["mcp-session-id"]
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class InMemoryStorage:
    """`mcp.client.auth.TokenStorage` in memory: each client starts with nothing."""

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


class FormParser(HTMLParser):
    """The first form: action, method and the fields a user agent submits when approving."""

    def __init__(self) -> None:
        super().__init__()
        self.form: dict[str, Any] | None = None
        self.done = False
        self.submitted = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: (v or "") for k, v in attrs}
        if self.done:
            return
        if tag == "form" and self.form is None:
            self.form = {"action": values.get("action", ""), "method": values.get("method", "GET").upper(), "fields": []}
        elif tag in ("input", "button") and self.form is not None and "name" in values:
            kind = values.get("type", "submit" if tag == "button" else "text").lower()
            if kind == "submit":
                if not self.submitted:
                    self.form["fields"].append((values["name"], values.get("value", "")))
                    self.submitted = True
            else:
                self.form["fields"].append((values["name"], values.get("value", "on" if kind == "checkbox" else "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.form is not None:
            self.done = True


class HeadlessUser:
    """redirect_handler + callback_handler of OAuthClientProvider, without a browser."""

    def __init__(self, who: str, redirect_uri: str) -> None:
        self.who = who
        self.redirect_uri = redirect_uri
        self.result: AuthorizationCodeResult | None = None
        self.authorizations: list[dict[str, Any]] = []

    async def redirect_handler(self, authorization_url: str) -> None:
        query = parse_qs(urlsplit(authorization_url).query)
        first = lambda key: query.get(key, [None])[0]  # noqa: E731
        record = {
            "step": current_step,
            "scope": first("scope"),
            "resource": first("resource"),
            "code_challenge_method": first("code_challenge_method"),
            "has_code_challenge": "code_challenge" in query,
        }
        self.authorizations.append(record)
        sent_state = first("state")
        origin = urlsplit(authorization_url)[:2]
        async with httpx2.AsyncClient(transport=Tracking(self.who.upper()), timeout=TIMEOUT) as agent:
            method, url, data = "GET", authorization_url, None
            forms = 0
            for _ in range(10):
                response = await agent.request(method, url, data=data, follow_redirects=False)
                if 300 <= response.status_code < 400:
                    target = urljoin(url, response.headers.get("location", ""))
                    parts = urlsplit(target)
                    if f"{parts.scheme}://{parts.netloc}{parts.path}" == self.redirect_uri:
                        params = parse_qs(parts.query)
                        if "error" in params:
                            raise RuntimeError(f"authorization refused: {params['error'][0]}")
                        state = params.get("state", [None])[0]
                        record["state_matches"] = state == sent_state
                        record["consent_forms_submitted"] = forms
                        self.result = AuthorizationCodeResult(
                            code=params["code"][0], state=state, iss=params.get("iss", [None])[0]
                        )
                        return
                    if parts[:2] != origin:
                        raise RuntimeError(f"redirect leaves the authorization server: {parts.netloc}")
                    method, url, data = "GET", target, None
                    continue
                if response.status_code != 200:
                    raise RuntimeError(f"authorization endpoint answered {response.status_code}")
                parser = FormParser()
                parser.feed(response.text)
                if parser.form is None:
                    raise RuntimeError("authorization endpoint answered 200 without a form to submit")
                action = urljoin(url, parser.form["action"] or url)
                if urlsplit(action)[:2] != origin:
                    raise RuntimeError("consent form posts elsewhere")
                forms += 1
                if parser.form["method"] == "POST":
                    method, url, data = "POST", action, dict(parser.form["fields"])
                else:
                    method, url, data = "GET", f"{action}?{urlencode(parser.form['fields'])}", None
            raise RuntimeError("too many redirects or forms on the way to the redirect_uri")

    async def callback_handler(self) -> AuthorizationCodeResult:
        if self.result is None:
            raise RuntimeError("no authorization code captured")
        result, self.result = self.result, None
        return result


class Party:
    """One client: its provider (own registration and tokens), its httpx2 client."""

    def __init__(self, who: str, server_url: str) -> None:
        redirect_uri = f"http://127.0.0.1/e2e-callback/{who}"
        self.user = HeadlessUser(who, redirect_uri)
        self.storage = InMemoryStorage()
        self.provider = OAuthClientProvider(
            server_url=server_url,
            client_metadata=OAuthClientMetadata(
                client_name=f"axum-bearer e2e client {who} (Python SDK)",
                redirect_uris=[AnyUrl(redirect_uri)],
                grant_types=["authorization_code"],
                response_types=["code"],
                token_endpoint_auth_method="none",
            ),
            storage=self.storage,
            redirect_handler=self.user.redirect_handler,
            callback_handler=self.user.callback_handler,
        )
        self.http = httpx2.AsyncClient(auth=self.provider, transport=Tracking(who.upper()), timeout=TIMEOUT)

    def client_id(self) -> str | None:
        return self.storage.client_info.client_id if self.storage.client_info else None


def tool_json(result: Any) -> Any:
    if getattr(result, "structured_content", None):
        return result.structured_content
    for item in result.content or []:
        if getattr(item, "type", None) == "text":
            try:
                return json.loads(item.text)
            except ValueError:
                return item.text
    return None


def session_of(party_who: str) -> str | None:
    for entry in report["http"]:
        if entry["client"] == party_who and entry.get("session_received"):
            return entry["session_received"]
    return None


async def open_session(who: str, party: Party, server_url: str, stack: Any) -> Client:
    global current_step
    current_step = f"{who}.session"
    client = await stack.enter_async_context(
        Client(
            streamable_http_client(server_url, http_client=party.http, terminate_on_close=False),
            # The initialize handshake (protocol versions up to 2025-11-25), which has sessions:
            # "auto" would probe server/discover and, on a 2026-07-28 server, run without them.
            mode="legacy",
        )
    )
    tools = await client.list_tools()
    names = sorted(tool.name for tool in tools.tools)
    whoami = await client.call_tool("whoami", {})
    caller = tool_json(whoami)
    check(not whoami.is_error, f"whoami returned an error: {whoami}")
    check("whoami" in names and "admin_echo" in names, f"tools/list lacks whoami or admin_echo: {names}")
    client_id = party.client_id()
    check(client_id is not None and client_id in json.dumps(caller), f"whoami does not name {client_id}: {caller}")
    report["steps"].append(
        {"step": f"{who}.session", "tools": names, "whoami": caller, "protocol": client.protocol_version}
    )
    return client


async def main(server_url: str) -> None:
    global current_step
    from contextlib import AsyncExitStack

    async with AsyncExitStack() as stack:
        a = Party("a", server_url)
        stack.push_async_callback(a.http.aclose)
        client_a = await open_session("a", a, server_url, stack)
        report["client_a"] = a.client_id()
        report["session_a"] = session_of("A")
        check(report["session_a"] is not None, "the server announced no Mcp-Session-Id to A")

        current_step = "a.step-up"
        echo = await client_a.call_tool("admin_echo", {"message": "step-up works"})
        check(not echo.is_error, f"admin_echo after the step-up returned an error: {echo}")
        check("step-up works" in json.dumps(tool_json(echo)), f"admin_echo did not echo: {echo}")
        step_up = a.user.authorizations[-1] if a.user.authorizations else {}
        check(step_up.get("step") == "a.step-up", "no authorization request during the step-up")
        check(ADMIN_SCOPE in (step_up.get("scope") or "").split(), f"step-up scope: {step_up.get('scope')}")
        report["steps"].append({"step": "a.step-up", "result": tool_json(echo), "scope_requested": step_up.get("scope")})

        b = Party("b", server_url)
        stack.push_async_callback(b.http.aclose)
        await open_session("b", b, server_url, stack)
        report["client_b"] = b.client_id()
        check(report["client_b"] != report["client_a"], "both clients got the same client_id")

        # B's real provider adds B's token; the session id is A's.
        current_step = "b.hijack"
        response = await b.http.post(
            server_url,
            json={"jsonrpc": "2.0", "id": 99, "method": "tools/list", "params": {}},
            headers={
                "accept": "application/json, text/event-stream",
                "mcp-session-id": report["session_a"] or "",
                "mcp-protocol-version": client_a.protocol_version,
            },
        )
        check(response.status_code == 404, f"B with A's session id: expected 404, got {response.status_code}")
        report["steps"].append({"step": "b.hijack", "status": response.status_code})

        current_step = "a.after"
        again = await client_a.call_tool("whoami", {})
        check(not again.is_error, "A's session stopped working after B tried it")
        report["steps"].append({"step": "a.after", "whoami": tool_json(again)})
        report["authorizations"] = {"a": a.user.authorizations, "b": b.user.authorizations}


def run() -> int:
    if len(sys.argv) != 2 or urlsplit(sys.argv[1]).hostname not in ("127.0.0.1", "localhost"):
        print("usage: client.py http://127.0.0.1:PORT/mcp", file=sys.stderr)
        return 2
    server_url = sys.argv[1]

    async def bounded() -> None:
        with anyio.fail_after(OVERALL_TIMEOUT):
            await main(server_url)

    try:
        anyio.run(bounded)
    except BaseException as error:  # noqa: BLE001 - everything lands in the report
        report["failures"].append(f"{current_step}: {type(error).__name__}: {error!r}")
    report["ok"] = not report["failures"]
    print(json.dumps(report), flush=True)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(run())
