// The TypeScript MCP SDK's demo OAuth authorization server (`setupAuthServer` from
// @modelcontextprotocol/sdk's examples, run unmodified) on 127.0.0.1 and a free port.
//
//   node tests/e2e/as.mjs
//
// stdout, one JSON object a line:
//   first   {"issuer": ..., "authorization_endpoint": ..., "token_endpoint": ...,
//            "registration_endpoint": ..., "introspection_endpoint": ...}
//   then    {"event": "request", "method": ..., "path": ..., "status": ...} for every request served
//           (the path only: never a query, header or body, so no code or token is printed)
// Serves until killed; with `--stdin-lifeline`, also until its stdin closes (so a test that dies
// takes it along).
//
// What the demo server does (SDK 1.32.2, dist/esm/examples/server/demoInMemoryOAuthProvider.js):
// - dynamic client registration (`/register`), no consent: `/authorize` answers 302 to the
//   redirect_uri with a code at once; PKCE S256 is checked at `/token`;
// - grants every scope the client asks for, and records the `resource` as the token's `aud`;
// - `/introspect` authenticates no caller; an active token gets 200 {active, client_id, scope, exp,
//   aud}, an unknown one 401 {"active": false, ...} (not the 200 RFC 7662 asks for);
// - no refresh tokens, so a client steps up by a new authorization.
import http from 'node:http';
import express from 'express';
import { setupAuthServer } from '@modelcontextprotocol/sdk/examples/server/demoInMemoryOAuthProvider.js';

// The demo calls `authApp.listen(port)` on every interface with a port fixed in advance. Bind
// 127.0.0.1:0 first (no race for a free port) and let the demo's `listen` attach its app to that
// server instead; nothing else of the demo changes.
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, '127.0.0.1', resolve);
});
const { port } = server.address();
const base = `http://127.0.0.1:${port}`;

const write = (object) => process.stdout.write(`${JSON.stringify(object)}\n`);

express.application.listen = function listen(_port, callback) {
  const app = this;
  server.on('request', (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    res.on('finish', () => write({ event: 'request', method: req.method, path, status: res.statusCode }));
    app(req, res);
  });
  callback?.();
  return server;
};

// The demo logs its own banner with console.log: keep stdout for JSON lines.
console.log = (...args) => console.error(...args);

const metadata = setupAuthServer({
  authServerUrl: new URL(`${base}/`),
  // Only read with strictResource, which stays off: the MCP server's port is not known yet.
  mcpServerUrl: new URL(`${base}/mcp`),
  strictResource: false,
});

write({
  issuer: metadata.issuer,
  authorization_endpoint: metadata.authorization_endpoint,
  token_endpoint: metadata.token_endpoint,
  registration_endpoint: metadata.registration_endpoint,
  introspection_endpoint: metadata.introspection_endpoint,
});

const stop = () => {
  server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (process.argv.includes('--stdin-lifeline')) {
  process.stdin.on('end', stop);
  process.stdin.resume();
}
