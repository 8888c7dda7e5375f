// oidc-provider (panva/node-oidc-provider 9.x, unmodified) as the authorization server of the DPoP
// interop test, on 127.0.0.1.
//
//   node as.mjs [--port N] [--resource URL]...
//
// - issuer `http://127.0.0.1:<port>` (port 0, the default, picks a free one);
// - `client_credentials` grant; DPoP (RFC 9449) at the token endpoint; no server nonce of its own;
// - resource indicators (RFC 8707): a token for resource R is a JWT access token (RFC 9068,
//   `typ: at+jwt`, ES256) with `aud: R`, `scope: api:read`, and `cnf.jkt` when it was requested
//   with a DPoP proof. The resources accepted are the `--resource` URLs; with none, any
//   `http://127.0.0.1:<port>/...` URL (for running it by hand);
// - two clients, both `client_secret_basic`:
//     `dpop-client` / `dpop-secret`     must use DPoP (`dpop_bound_access_tokens: true`),
//     `bearer-client` / `bearer-secret` plain bearer tokens (no `cnf`).
//
// stdout: one JSON line once it serves, {"issuer": ..., "jwks_uri": ..., "token_endpoint": ...}.
// Everything else (oidc-provider's notices, one line per request: method, path, status, never a
// header or body) goes to stderr. Exits when its stdin closes, so a test that dies takes it along.
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';

// oidc-provider prints its notices with console.info (stdout): keep stdout for the JSON line.
console.info = console.error;
console.log = console.error;

const { default: Provider } = await import('oidc-provider');

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    resource: { type: 'string', multiple: true, default: [] },
  },
});

const SCOPE = 'api:read';

const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(args.port), '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const resourceAccepted = (resource) => {
  if (args.resource.length > 0) {
    return args.resource.includes(resource);
  }
  try {
    const url = new URL(resource);
    return url.protocol === 'http:' && url.hostname === '127.0.0.1';
  } catch {
    return false;
  }
};

// Fresh signing keys on every start: ES256 for the access tokens, RS256 because it is the default
// ID token algorithm of the clients' metadata (never used here: no ID tokens are issued).
const signingKey = (type, options, kid, alg) => ({
  ...generateKeyPairSync(type, options).privateKey.export({ format: 'jwk' }),
  kid,
  alg,
  use: 'sig',
});

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'dpop-client',
      client_secret: 'dpop-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: SCOPE,
      dpop_bound_access_tokens: true,
    },
    {
      client_id: 'bearer-client',
      client_secret: 'bearer-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: SCOPE,
    },
  ],
  jwks: {
    keys: [
      signingKey('ec', { namedCurve: 'P-256' }, 'es256-1', 'ES256'),
      signingKey('rsa', { modulusLength: 2048 }, 'rs256-1', 'RS256'),
    ],
  },
  scopes: [SCOPE],
  ttl: { ClientCredentials: 300 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    dPoP: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // No `resource` parameter: no default audience, so the grant is refused (a JWT access
      // token must have one).
      defaultResource: (_ctx, _client, oneOf) => oneOf,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => {
        if (!resourceAccepted(resource)) {
          throw new Provider.errors.InvalidTarget(`unknown resource ${resource}`);
        }
        return {
          scope: SCOPE,
          audience: resource,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
});

provider.use(async (ctx, next) => {
  await next();
  process.stderr.write(`as: ${ctx.method} ${ctx.path} ${ctx.status}\n`);
});
provider.on('server_error', (_ctx, error) => {
  process.stderr.write(`as: server_error ${error?.stack ?? error}\n`);
});

server.on('request', provider.callback());

process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();

process.stdout.write(
  `${JSON.stringify({
    issuer,
    jwks_uri: `${issuer}/jwks`,
    token_endpoint: `${issuer}/token`,
  })}\n`,
);
