// oauth4webapi (panva/oauth4webapi 3.x) as the DPoP client of the interop test: it gets tokens
// from as.mjs and uses them against the crate's protected resources.
//
//   node client.mjs --issuer URL [--required URL] [--nonces URL] [--allowed URL]
//
// Each URL is a protected resource (also the `resource` the token is requested for) served by an
// axum-bearer layer with DPoP in one mode:
//   --required  `Dpop::required`: only DPoP-bound requests;
//   --nonces    `Dpop::required` with server nonces;
//   --allowed   `Dpop::allowed`: DPoP-bound tokens with proofs, and unbound tokens as Bearer.
// A 200 answer's body must be JSON {"proof_bound": bool, "jkt": string|null}.
//
// Discovery (OpenID), an ES256 DPoP key pair, then per resource a client_credentials grant WITH
// DPoP (`dpop-client`: the token is bound, token_type DPoP) and one without (`bearer-client`: an
// unbound Bearer token). Every request goes through `protectedResourceRequest`, so every
// `WWW-Authenticate` answer is parsed by oauth4webapi's own challenge parser; the tampered
// requests rewrite the headers in a `customFetch` just before they leave.
//
// stdout: one JSON line, the summary {ok, jkt, failures, results: {<mode>: {<case>: ...}}}.
// Exit status 0 when every case got the expected status and challenge error, 1 otherwise (the
// failures listed in the summary and on stderr), 2 when the run itself broke.
import { parseArgs } from 'node:util';
import * as oauth from 'oauth4webapi';

const { values: args } = parseArgs({
  options: {
    issuer: { type: 'string' },
    required: { type: 'string' },
    nonces: { type: 'string' },
    allowed: { type: 'string' },
  },
});
if (!args.issuer) {
  process.stderr.write('usage: node client.mjs --issuer URL [--required URL] [--nonces URL] [--allowed URL]\n');
  process.exit(2);
}

const insecure = { [oauth.allowInsecureRequests]: true };
const SCOPE = 'api:read';
const failures = [];
const results = {};

const fail = (where, message) => {
  failures.push(`${where}: ${message}`);
  process.stderr.write(`client: MISMATCH ${where}: ${message}\n`);
};

const b64uJson = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
const claims = (jwt) => b64uJson(jwt.split('.')[1]);

// --- the authorization server ---------------------------------------------------------------
const issuer = new URL(args.issuer);
const as = await oauth.processDiscoveryResponse(
  issuer,
  await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }),
);

const dpopClient = { client_id: 'dpop-client' };
const bearerClient = { client_id: 'bearer-client' };
const keyPair = await oauth.generateKeyPair('ES256');
const dpop = oauth.DPoP(dpopClient, keyPair);
const jkt = await dpop.calculateThumbprint();

async function boundToken(resource) {
  const parameters = new URLSearchParams({ resource, scope: SCOPE });
  const grant = () =>
    oauth.clientCredentialsGrantRequest(as, dpopClient, oauth.ClientSecretBasic('dpop-secret'), parameters, {
      DPoP: dpop,
      ...insecure,
    });
  let response = await grant();
  let result;
  try {
    result = await oauth.processClientCredentialsResponse(as, dpopClient, response);
  } catch (error) {
    // An authorization server that wants a nonce of its own: once more with it (cached).
    if (!oauth.isDPoPNonceError(error)) throw error;
    response = await grant();
    result = await oauth.processClientCredentialsResponse(as, dpopClient, response);
  }
  if (result.token_type !== 'dpop') {
    throw new Error(`dpop-client got token_type ${result.token_type}, not DPoP`);
  }
  const payload = claims(result.access_token);
  if (payload.cnf?.jkt !== jkt) {
    throw new Error(`the bound token's cnf.jkt ${payload.cnf?.jkt} is not the key's thumbprint ${jkt}`);
  }
  if (payload.aud !== resource) {
    throw new Error(`the bound token's aud ${payload.aud} is not ${resource}`);
  }
  return result.access_token;
}

async function unboundToken(resource) {
  const parameters = new URLSearchParams({ resource, scope: SCOPE });
  const response = await oauth.clientCredentialsGrantRequest(
    as,
    bearerClient,
    oauth.ClientSecretBasic('bearer-secret'),
    parameters,
    insecure,
  );
  const result = await oauth.processClientCredentialsResponse(as, bearerClient, response);
  if (result.token_type !== 'bearer' || claims(result.access_token).cnf !== undefined) {
    throw new Error(`bearer-client got a bound token (token_type ${result.token_type})`);
  }
  return result.access_token;
}

// --- requests to the protected resource -------------------------------------------------------

/**
 * One request through `protectedResourceRequest`. `DPoP` adds a proof (oauth4webapi's own, with
 * its nonce cache); `rewrite(headers)` may change the headers (lower-case names) and `method`
 * replaces the method actually sent (after the proof was made for `method`).
 * Returns {status, body} for a success, {status, challenges, nonce} for a challenge, and the
 * headers actually sent.
 */
async function request(url, token, { DPoP, method = 'GET', sendMethod, rewrite } = {}) {
  let sent;
  const options = {
    ...insecure,
    DPoP,
    [oauth.customFetch]: async (target, init) => {
      const headers = rewrite ? rewrite({ ...init.headers }) : init.headers;
      sent = headers;
      return fetch(target, { ...init, method: sendMethod ?? init.method, headers });
    },
  };
  try {
    const response = await oauth.protectedResourceRequest(token, method, new URL(url), undefined, null, options);
    const text = await response.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: response.status, body, sent };
  } catch (error) {
    if (error instanceof oauth.WWWAuthenticateChallengeError) {
      return {
        status: error.status,
        challenges: error.cause,
        nonce: error.response.headers.get('dpop-nonce'),
        nonceError: oauth.isDPoPNonceError(error),
        sent,
      };
    }
    throw error;
  }
}

/** The headers oauth4webapi would send, without sending them. */
async function prepare(url, token, DPoP, method = 'GET') {
  let captured;
  await oauth.protectedResourceRequest(token, method, new URL(url), undefined, null, {
    ...insecure,
    DPoP,
    [oauth.customFetch]: async (_target, init) => {
      captured = { ...init.headers };
      return new Response(null, { status: 204 });
    },
  });
  return captured;
}

const flipSignatureByte = (jwt) => {
  const [header, payload, signature] = jwt.split('.');
  const bytes = Buffer.from(signature, 'base64url');
  bytes[0] ^= 0x01;
  return `${header}.${payload}.${bytes.toString('base64url')}`;
};

/** What the summary keeps of an answer (never a token or a proof). */
const summarise = (outcome) => {
  const out = { status: outcome.status };
  if (outcome.challenges) {
    out.schemes = outcome.challenges.map((c) => c.scheme);
    const failed = outcome.challenges.find((c) => c.parameters.error !== undefined);
    out.scheme = failed?.scheme ?? null;
    out.error = failed?.parameters.error ?? null;
    out.error_description = failed?.parameters.error_description ?? null;
    out.algs = outcome.challenges.find((c) => c.scheme === 'dpop')?.parameters.algs ?? null;
    if (outcome.nonce) out.dpop_nonce = true;
  } else {
    out.body = outcome.body;
  }
  return out;
};

/**
 * Checks one answer: `status`; for a 401, that oauth4webapi parsed the header into exactly the
 * expected `schemes`, that the challenge of `scheme` (the one the request used) has `error`
 * (null: none) and every other challenge none, that the DPoP challenge's `algs` lists ES256, and
 * the `DPoP-Nonce` header when `nonce` is given; for a 200, the body.
 */
function expect(mode, name, outcome, { status, error, schemes = ['dpop'], scheme = 'dpop', body, nonce }) {
  const where = `${mode}/${name}`;
  results[mode][name] = summarise(outcome);
  if (outcome.status !== status) {
    fail(where, `status ${outcome.status}, expected ${status} (${JSON.stringify(summarise(outcome))})`);
    return;
  }
  if (status === 401) {
    if (!outcome.challenges) {
      fail(where, 'a 401 without a WWW-Authenticate challenge oauth4webapi could parse');
      return;
    }
    const got = outcome.challenges.map((c) => c.scheme).sort();
    if (JSON.stringify(got) !== JSON.stringify([...schemes].sort())) {
      fail(where, `challenge schemes ${JSON.stringify(got)}, expected ${JSON.stringify(schemes)}`);
    }
    for (const challenge of outcome.challenges) {
      const expected = challenge.scheme === scheme ? error : null;
      if ((challenge.parameters.error ?? null) !== expected) {
        fail(where, `${challenge.scheme} challenge error=${challenge.parameters.error ?? null}, expected ${expected}`);
      }
    }
    const dpopChallenge = outcome.challenges.find((c) => c.scheme === 'dpop');
    if (!(dpopChallenge?.parameters.algs ?? '').split(' ').includes('ES256')) {
      fail(where, `the DPoP challenge's algs=${dpopChallenge?.parameters.algs} does not list ES256`);
    }
    if (nonce !== undefined && Boolean(outcome.nonce) !== nonce) {
      fail(where, `DPoP-Nonce header ${outcome.nonce ? 'present' : 'absent'}, expected ${nonce ? 'present' : 'absent'}`);
    }
    if ((error === 'use_dpop_nonce') !== Boolean(outcome.nonceError)) {
      fail(where, `isDPoPNonceError said ${Boolean(outcome.nonceError)}`);
    }
  } else if (body !== undefined && canonical(outcome.body) !== canonical(body)) {
    fail(where, `body ${JSON.stringify(outcome.body)}, expected ${JSON.stringify(body)}`);
  }
}

/** JSON with sorted keys (the bodies are flat objects). */
const canonical = (value) =>
  JSON.stringify(value, value && typeof value === 'object' ? Object.keys(value).sort() : undefined);

const BOUND = { proof_bound: true, jkt };
const UNBOUND = { proof_bound: false, jkt: null };

/** What every DPoP mode must do with proofs and tokens (`schemes`: the challenges it sends). */
async function proofCases(mode, url, schemes) {
  const token = await boundToken(url);
  const unbound = await unboundToken(url);

  // (a) A valid request, twice (a fresh proof each time is no replay).
  const first = await request(url, token, { DPoP: dpop });
  expect(mode, 'valid', first, { status: 200, body: BOUND });
  expect(mode, 'valid_again', await request(url, token, { DPoP: dpop }), { status: 200, body: BOUND });

  // (c) Tampered requests.
  const replayed = first.sent;
  expect(mode, 'replayed_proof', await request(url, token, { rewrite: () => replayed }), {
    status: 401,
    error: 'invalid_dpop_proof',
    schemes,
  });
  const fresh = await prepare(url, token, dpop);
  expect(
    mode,
    'flipped_signature_byte',
    await request(url, token, { rewrite: () => ({ ...fresh, dpop: flipSignatureByte(fresh.dpop) }) }),
    { status: 401, error: 'invalid_dpop_proof', schemes },
  );
  const elsewhere = await prepare(new URL('/elsewhere', url).href, token, dpop);
  expect(mode, 'proof_for_another_url', await request(url, token, { rewrite: () => elsewhere }), {
    status: 401,
    error: 'invalid_dpop_proof',
    schemes,
  });
  expect(
    mode,
    'proof_for_another_method',
    await request(url, token, { DPoP: dpop, method: 'POST', sendMethod: 'GET' }),
    { status: 401, error: 'invalid_dpop_proof', schemes },
  );
  // A valid proof by another key than the token is bound to.
  const otherKey = oauth.DPoP(dpopClient, await oauth.generateKeyPair('ES256'));
  expect(mode, 'proof_by_another_key', await request(url, token, { DPoP: otherKey }), {
    status: 401,
    error: 'invalid_token',
    schemes,
  });
  // The DPoP scheme without a proof.
  expect(
    mode,
    'dpop_scheme_without_proof',
    await request(url, token, { rewrite: () => ({ authorization: `DPoP ${token}` }) }),
    { status: 401, error: 'invalid_dpop_proof', schemes },
  );
  // The bound token as a Bearer token (RFC 9449 §7.2: never accepted). Where DPoP is required,
  // Bearer credentials count as none (a challenge without error, RFC 6750 §3.1); where it is
  // allowed, the Bearer challenge says invalid_token.
  const required = !schemes.includes('bearer');
  expect(mode, 'bound_token_as_bearer', await request(url, token), {
    status: 401,
    error: required ? null : 'invalid_token',
    scheme: 'bearer',
    schemes,
  });
  // An unbound token with the DPoP scheme and a valid proof over it (RFC 9449 §7.1).
  expect(mode, 'unbound_token_with_dpop', await request(url, unbound, { DPoP: dpop }), {
    status: 401,
    error: 'invalid_token',
    schemes,
  });
  // No credentials at all: the challenge alone, no error.
  expect(mode, 'no_credentials', await request(url, token, { rewrite: () => ({}) }), {
    status: 401,
    error: null,
    schemes,
  });
  if (required) {
    expect(mode, 'unbound_token_as_bearer', await request(url, unbound), { status: 401, error: null, schemes });
  } else {
    expect(mode, 'unbound_token_as_bearer', await request(url, unbound), { status: 200, body: UNBOUND });
  }
}

async function run() {
  if (args.required) {
    results.required = {};
    await proofCases('required', args.required, ['dpop']);
  }

  if (args.nonces) {
    const mode = 'nonces';
    results[mode] = {};
    const url = args.nonces;
    const token = await boundToken(url);
    // (b) The first request has no nonce: 401 use_dpop_nonce with a DPoP-Nonce header, which
    // oauth4webapi caches; the retry carries it.
    const first = await request(url, token, { DPoP: dpop });
    expect(mode, 'first_without_nonce', first, { status: 401, error: 'use_dpop_nonce', nonce: true });
    if (first.nonceError) {
      const retry = await request(url, token, { DPoP: dpop });
      expect(mode, 'retry_with_nonce', retry, { status: 200, body: BOUND });
      if (!claims(retry.sent.dpop).nonce) fail(`${mode}/retry_with_nonce`, 'the retry carried no nonce');
    }
    // The cached nonce keeps working for the next request.
    expect(mode, 'next_with_cached_nonce', await request(url, token, { DPoP: dpop }), { status: 200, body: BOUND });
    // A nonce the server never issued.
    const forged = oauth.DPoP(dpopClient, keyPair, {
      [oauth.modifyAssertion]: (_header, payload) => {
        payload.nonce = 'not-a-nonce-from-this-server';
      },
    });
    expect(mode, 'forged_nonce', await request(url, token, { DPoP: forged }), {
      status: 401,
      error: 'use_dpop_nonce',
      nonce: true,
    });
    // Tampering is still caught with a valid nonce.
    const sent = (await request(url, token, { DPoP: dpop })).sent;
    expect(mode, 'replayed_proof_with_nonce', await request(url, token, { rewrite: () => sent }), {
      status: 401,
      error: 'invalid_dpop_proof',
    });
  }

  if (args.allowed) {
    const mode = 'allowed';
    results[mode] = {};
    const url = args.allowed;
    await proofCases(mode, url, ['dpop', 'bearer']);
  }
}

try {
  await run();
} catch (error) {
  process.stderr.write(`client: the run broke: ${error?.stack ?? error}\n`);
  if (error?.cause) process.stderr.write(`client: cause: ${JSON.stringify(error.cause)}\n`);
  process.stdout.write(`${JSON.stringify({ ok: false, jkt, failures: [`run: ${error?.message ?? error}`], results })}\n`);
  process.exit(2);
}

process.stdout.write(`${JSON.stringify({ ok: failures.length === 0, jkt, failures, results })}\n`);
process.exit(failures.length === 0 ? 0 : 1);
