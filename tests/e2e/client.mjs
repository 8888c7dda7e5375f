// A real MCP client (the TypeScript SDK's `Client` + `StreamableHTTPClientTransport` with an
// `OAuthClientProvider`) through the whole OAuth flow against an MCP server, starting with no token.
//
//   node tests/e2e/client.mjs http://127.0.0.1:PORT/mcp
//
// Prints ONE JSON line (the report) on stdout and exits 0 when every step went as expected, 1
// otherwise (2 on bad usage). The report never holds a token, a code or a PKCE verifier.
//
// Steps (client A, then client B, each with its own provider: registration, token, session):
//   a.discover    connect with no token: POST → 401, RFC 9728 metadata, AS metadata, registration,
//                 /authorize (PKCE S256, consent automated) → code at the redirect_uri
//   a.token       transport.finishAuth(code) → /token
//   a.session     a new transport with the token: initialize, tools/list, tools/call whoami
//   a.step-up     tools/call admin_echo → 403 insufficient_scope; the SDK transport re-authorizes
//                 with the scope of WWW-Authenticate (SDK ≥ 1.2x does this on 403); finishAuth
//   a.admin       tools/call admin_echo again → 200
//   b.discover    client B: its own registration and authorization
//   b.token, b.session  B's own session works (whoami names B)
//   b.hijack      B's token with A's Mcp-Session-Id → 404
//   a.after       A's session still works
//
// Every HTTP exchange (through a fetch wrapper the transport and the auth helpers use) lands in
// `http` with the step, client, method, URL (no query), status and the WWW-Authenticate header.
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const OVERALL_TIMEOUT_MS = Number(process.env.E2E_CLIENT_TIMEOUT_MS ?? 60_000);
const FETCH_TIMEOUT_MS = 15_000;
const ADMIN_SCOPE = process.env.E2E_ADMIN_SCOPE ?? 'mcp:admin';

const report = { ok: false, sdk: '@modelcontextprotocol/sdk', steps: [], http: [], failures: [] };
let currentStep = 'start';

function finish(code) {
  report.ok = code === 0 && report.failures.length === 0;
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(report.ok ? 0 : 1);
}

const timer = setTimeout(() => {
  report.failures.push(`timed out after ${OVERALL_TIMEOUT_MS} ms in step ${currentStep}`);
  finish(1);
}, OVERALL_TIMEOUT_MS);
timer.unref();

const mcpArg = process.argv[2];
if (!mcpArg || !URL.canParse(mcpArg)) {
  process.stderr.write('usage: node client.mjs http://127.0.0.1:PORT/mcp\n');
  process.exit(2);
}
const mcpUrl = new URL(mcpArg);
if (mcpUrl.hostname !== '127.0.0.1' && mcpUrl.hostname !== 'localhost') {
  process.stderr.write('client.mjs only talks to loopback servers\n');
  process.exit(2);
}

function check(condition, message) {
  if (!condition) {
    report.failures.push(`${currentStep}: ${message}`);
  }
  return condition;
}

function step(name, fields = {}) {
  report.steps.push({ step: name, ...fields });
}

function urlOf(input) {
  if (input instanceof Request) return new URL(input.url);
  return new URL(String(input));
}

/** A fetch that records every exchange, refuses anything but loopback, and bounds each call. */
function trackingFetch(who) {
  return async (input, init = {}) => {
    const url = urlOf(input);
    if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') {
      throw new Error(`refusing to contact ${url.origin}: the e2e test stays on loopback`);
    }
    const method = init.method ?? (input instanceof Request ? input.method : 'GET');
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    // A long-lived GET (the SSE stream) keeps the transport's own signal only.
    const sse = method === 'GET' && url.href === mcpUrl.href;
    const signal = sse
      ? init.signal
      : init.signal
        ? AbortSignal.any([init.signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)])
        : AbortSignal.timeout(FETCH_TIMEOUT_MS);
    const entry = {
      step: currentStep,
      client: who,
      method,
      url: `${url.origin}${url.pathname}`,
      authorization: headers.has('authorization'),
      session_sent: headers.get('mcp-session-id') ?? undefined,
    };
    report.http.push(entry);
    try {
      const response = await fetch(input, { ...init, signal });
      entry.status = response.status;
      const challenge = response.headers.get('www-authenticate');
      if (challenge) entry.www_authenticate = challenge;
      const session = response.headers.get('mcp-session-id');
      if (session) entry.session_received = session;
      return response;
    } catch (error) {
      entry.error = String(error?.name ?? error);
      throw error;
    }
  };
}

/**
 * An OAuthClientProvider kept in memory that plays the user too: `redirectToAuthorization`
 * follows the authorization server's redirects with fetch, submits its consent form if it shows
 * one, and keeps the code that reaches the redirect_uri (which is never contacted).
 */
class HeadlessProvider {
  constructor(who, fetchFn) {
    this.who = who;
    this.fetchFn = fetchFn;
    this._redirectUrl = `http://127.0.0.1/e2e-callback/${who}`;
    this._clientInformation = undefined;
    this._tokens = undefined;
    this._codeVerifier = undefined;
    this._state = undefined;
    this.pendingCode = undefined;
    this.authorizations = [];
  }

  get redirectUrl() {
    return this._redirectUrl;
  }

  get clientMetadata() {
    return {
      client_name: `axum-bearer e2e client ${this.who} (TypeScript SDK)`,
      redirect_uris: [this._redirectUrl],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state() {
    this._state = randomBytes(16).toString('hex');
    return this._state;
  }

  clientInformation() {
    return this._clientInformation;
  }

  saveClientInformation(information) {
    this._clientInformation = information;
  }

  tokens() {
    return this._tokens;
  }

  saveTokens(tokens) {
    this._tokens = tokens;
  }

  saveCodeVerifier(verifier) {
    this._codeVerifier = verifier;
  }

  codeVerifier() {
    if (!this._codeVerifier) throw new Error('no PKCE code verifier saved');
    return this._codeVerifier;
  }

  async redirectToAuthorization(authorizationUrl) {
    const url = new URL(authorizationUrl);
    const record = {
      step: currentStep,
      scope: url.searchParams.get('scope') ?? undefined,
      resource: url.searchParams.get('resource') ?? undefined,
      code_challenge_method: url.searchParams.get('code_challenge_method') ?? undefined,
      has_code_challenge: url.searchParams.has('code_challenge'),
    };
    this.authorizations.push(record);
    const { code, state, consentForms } = await this.userAgent(url);
    record.consent_forms_submitted = consentForms;
    record.state_matches = state === this._state;
    if (!record.state_matches) throw new Error('state at the redirect_uri differs from the one sent');
    this.pendingCode = code;
  }

  /** Follows redirects (within the authorization server) and consent forms to the redirect_uri. */
  async userAgent(start) {
    const cookies = new Map();
    const origin = start.origin;
    let next = { url: start, init: { method: 'GET' } };
    let consentForms = 0;
    for (let hops = 0; hops < 10; hops += 1) {
      const cookieHeader = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
      const headers = new Headers(next.init.headers);
      if (cookieHeader) headers.set('cookie', cookieHeader);
      const response = await this.fetchFn(next.url, { ...next.init, headers, redirect: 'manual' });
      for (const line of response.headers.getSetCookie?.() ?? []) {
        const [pair] = line.split(';');
        const eq = pair.indexOf('=');
        if (eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
      }
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel();
        const location = response.headers.get('location');
        if (!location) throw new Error(`redirect ${response.status} without Location`);
        const target = new URL(location, next.url);
        if (`${target.origin}${target.pathname}` === this._redirectUrl) {
          const error = target.searchParams.get('error');
          if (error) throw new Error(`authorization refused: ${error} ${target.searchParams.get('error_description') ?? ''}`);
          const code = target.searchParams.get('code');
          if (!code) throw new Error('no code at the redirect_uri');
          return { code, state: target.searchParams.get('state') ?? undefined, consentForms };
        }
        if (target.origin !== origin) throw new Error(`redirect leaves the authorization server: ${target.origin}`);
        next = { url: target, init: { method: 'GET' } };
        continue;
      }
      const body = await response.text();
      if (response.status !== 200) throw new Error(`authorization endpoint answered ${response.status}`);
      const form = parseForm(body, next.url);
      if (!form) throw new Error('authorization endpoint answered 200 without a form to submit');
      if (form.action.origin !== origin) throw new Error(`consent form posts elsewhere: ${form.action.origin}`);
      consentForms += 1;
      next = form.method === 'POST'
        ? {
            url: form.action,
            init: {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams(form.fields).toString(),
            },
          }
        : { url: withQuery(form.action, form.fields), init: { method: 'GET' } };
    }
    throw new Error('too many redirects or forms on the way to the redirect_uri');
  }
}

function withQuery(url, fields) {
  const target = new URL(url);
  for (const [k, v] of fields) target.searchParams.append(k, v);
  return target;
}

/** The first HTML form: its action, method, and the fields a user agent would submit (approving). */
function parseForm(html, base) {
  const formMatch = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!formMatch) return undefined;
  const attr = (tag, name) => {
    const m = new RegExp(`\\b${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
    return m ? decodeEntities(m[2] ?? m[3] ?? m[4] ?? '') : undefined;
  };
  const fields = [];
  for (const input of formMatch[2].matchAll(/<(input|button)\b([^>]*)>/gi)) {
    const tag = input[2];
    const name = attr(tag, 'name');
    if (!name) continue;
    const type = (attr(tag, 'type') ?? (input[1].toLowerCase() === 'button' ? 'submit' : 'text')).toLowerCase();
    // Approve: the first submit button's value counts; checkboxes are ticked.
    if (type === 'submit') {
      if (!fields.some(([, , submit]) => submit)) fields.push([name, attr(tag, 'value') ?? '', true]);
      continue;
    }
    fields.push([name, attr(tag, 'value') ?? (type === 'checkbox' ? 'on' : ''), false]);
  }
  return {
    action: new URL(attr(formMatch[1], 'action') ?? base.href, base),
    method: (attr(formMatch[1], 'method') ?? 'GET').toUpperCase(),
    fields: fields.map(([k, v]) => [k, v]),
  };
}

function decodeEntities(text) {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function newTransport(provider, fetchFn, options = {}) {
  return new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider, fetch: fetchFn, ...options });
}

function newClient(who) {
  return new Client({ name: `axum-bearer-e2e-${who}`, version: '1.0.0' }, { capabilities: {} });
}

/** Connect with no token: must end in UnauthorizedError with a code captured; then exchange it. */
async function authorizeFromScratch(who, provider, fetchFn) {
  currentStep = `${who}.discover`;
  const transport = newTransport(provider, fetchFn);
  const client = newClient(who);
  let unauthorized = false;
  try {
    await client.connect(transport);
  } catch (error) {
    unauthorized = error instanceof UnauthorizedError;
    if (!unauthorized) throw error;
  }
  check(unauthorized, 'connect without a token did not end in UnauthorizedError (no redirect to authorize)');
  check(provider.pendingCode !== undefined, 'no authorization code captured');
  step(`${who}.discover`, { unauthorized, client_id: provider.clientInformation()?.client_id });

  currentStep = `${who}.token`;
  await transport.finishAuth(provider.pendingCode);
  provider.pendingCode = undefined;
  check(provider.tokens()?.access_token !== undefined, 'no access token after finishAuth');
  step(`${who}.token`, { scope: provider.tokens()?.scope });
  await transport.close().catch(() => {});
}

function toolJson(result) {
  if (result?.structuredContent) return result.structuredContent;
  const text = result?.content?.find((item) => item.type === 'text')?.text;
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function session(who, provider, fetchFn) {
  currentStep = `${who}.session`;
  const transport = newTransport(provider, fetchFn);
  const client = newClient(who);
  await client.connect(transport);
  const tools = await client.listTools();
  const names = tools.tools.map((tool) => tool.name).sort();
  const whoami = await client.callTool({ name: 'whoami', arguments: {} });
  const caller = toolJson(whoami);
  check(!whoami.isError, `whoami returned an error: ${JSON.stringify(whoami)}`);
  check(names.includes('whoami') && names.includes('admin_echo'), `tools/list lacks whoami or admin_echo: ${names}`);
  check(transport.sessionId !== undefined, 'the server announced no Mcp-Session-Id');
  const clientId = provider.clientInformation()?.client_id;
  check(
    JSON.stringify(caller ?? {}).includes(clientId ?? '\u0000'),
    `whoami does not name the registered client ${clientId}: ${JSON.stringify(caller)}`,
  );
  step(`${who}.session`, { tools: names, whoami: caller, session: transport.sessionId, protocol: transport.protocolVersion });
  return { client, transport };
}

async function main() {
  const fetchA = trackingFetch('A');
  const providerA = new HeadlessProvider('A', fetchA);
  await authorizeFromScratch('a', providerA, fetchA);
  const a = await session('a', providerA, fetchA);
  report.session_a = a.transport.sessionId;
  report.client_a = providerA.clientInformation()?.client_id;

  // Step-up: the SDK transport answers a 403 insufficient_scope by authorizing again with the
  // scope the challenge names (StreamableHTTPClientTransport.send); in a headless run that ends
  // in UnauthorizedError after redirectToAuthorization, and finishAuth exchanges the new code.
  currentStep = 'a.step-up';
  const echoArgs = { name: 'admin_echo', arguments: { message: 'step-up works' } };
  let stepUpError;
  try {
    const result = await a.client.callTool(echoArgs);
    check(false, `admin_echo succeeded without ${ADMIN_SCOPE}: ${JSON.stringify(result)}`);
  } catch (error) {
    stepUpError = error;
  }
  const stepUpAuthorization = providerA.authorizations.at(-1);
  check(stepUpError instanceof UnauthorizedError, `admin_echo without ${ADMIN_SCOPE} did not lead to a new authorization: ${stepUpError}`);
  check(stepUpAuthorization?.step === 'a.step-up', 'no authorization request during the step-up');
  check(
    (stepUpAuthorization?.scope ?? '').split(' ').includes(ADMIN_SCOPE),
    `the step-up authorization did not ask for ${ADMIN_SCOPE}: ${stepUpAuthorization?.scope}`,
  );
  if (providerA.pendingCode !== undefined) {
    await a.transport.finishAuth(providerA.pendingCode);
    providerA.pendingCode = undefined;
  }
  step('a.step-up', {
    error: stepUpError ? String(stepUpError.name ?? stepUpError) : undefined,
    scope_requested: stepUpAuthorization?.scope,
    scope_granted: providerA.tokens()?.scope,
  });

  currentStep = 'a.admin';
  const echo = await a.client.callTool(echoArgs);
  check(!echo.isError, `admin_echo after the step-up returned an error: ${JSON.stringify(echo)}`);
  check(JSON.stringify(toolJson(echo) ?? '').includes('step-up works'), `admin_echo did not echo: ${JSON.stringify(echo)}`);
  step('a.admin', { result: toolJson(echo) });

  // Client B: its own registration and token, its own session works...
  const fetchB = trackingFetch('B');
  const providerB = new HeadlessProvider('B', fetchB);
  await authorizeFromScratch('b', providerB, fetchB);
  report.client_b = providerB.clientInformation()?.client_id;
  check(report.client_b !== report.client_a, 'both clients got the same client_id');
  const b = await session('b', providerB, fetchB);
  await b.client.close();

  // ...but not with A's session id: the transport resumes a session it is given (no initialize).
  currentStep = 'b.hijack';
  const hijackTransport = newTransport(providerB, fetchB, { sessionId: a.transport.sessionId });
  const hijacker = newClient('b-hijack');
  await hijacker.connect(hijackTransport);
  if (a.transport.protocolVersion) hijackTransport.setProtocolVersion(a.transport.protocolVersion);
  let hijackStatus;
  try {
    await hijacker.listTools();
  } catch (error) {
    hijackStatus = error instanceof StreamableHTTPError ? error.code : String(error);
  }
  check(hijackStatus === 404, `B with A's session id: expected 404, got ${hijackStatus ?? 'success'}`);
  step('b.hijack', { status: hijackStatus, session: a.transport.sessionId });
  await hijackTransport.close().catch(() => {});

  currentStep = 'a.after';
  const again = await a.client.callTool({ name: 'whoami', arguments: {} });
  check(!again.isError, 'A\'s session stopped working after B tried it');
  step('a.after', { whoami: toolJson(again) });

  report.authorizations = { a: providerA.authorizations, b: providerB.authorizations };
  await a.client.close().catch(() => {});
}

try {
  await main();
  finish(0);
} catch (error) {
  report.failures.push(`${currentStep}: ${error?.stack ?? error}`);
  finish(1);
}
