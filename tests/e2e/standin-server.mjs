// A stand-in for examples/rmcp-server, written with the TypeScript SDK's server, that follows the
// same environment contract. It exists to check the harness itself (as.mjs + client.mjs) without
// Rust: `npm test --prefix tests/e2e` runs all three. The Rust test never uses it.
//
//   PORT (0 = free port)             prints "listening on http://127.0.0.1:<port>/mcp"
//   AUTH_SERVER_URL                  the issuer named in the RFC 9728 metadata
//   INTROSPECTION_URL                RFC 7662 endpoint (optional INTROSPECTION_CLIENT_ID/_SECRET:
//                                    client_secret_basic)
//   MCP_SCOPES                       base scopes (default "mcp:read"); admin_echo also needs mcp:admin
//
// Profile::Spec-like answers: 401 with resource_metadata and scope, 403 insufficient_scope naming
// every scope the call needs, 404 for a session id that is unknown or another client's.
import { randomUUID } from 'node:crypto';
import express from 'express';
import * as z from 'zod/v4';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

const required = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`standin-server: ${name} is required`);
    process.exit(2);
  }
  return value;
};
const authServer = required('AUTH_SERVER_URL');
const introspectionUrl = required('INTROSPECTION_URL');
const baseScopes = (process.env.MCP_SCOPES ?? 'mcp:read').split(' ').filter(Boolean);
const ADMIN = 'mcp:admin';

const app = express();
app.use(express.json());
const listener = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
await new Promise((resolve) => listener.once('listening', resolve));
const { port } = listener.address();
const resource = process.env.RESOURCE_URL ?? `http://127.0.0.1:${port}/mcp`;
console.log(`stand-in MCP server listening on http://127.0.0.1:${port}/mcp`);
const metadataUrl = `http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`;

app.get('/.well-known/oauth-protected-resource/mcp', (_req, res) => {
  res.json({
    resource,
    authorization_servers: [authServer],
    scopes_supported: [...baseScopes, ADMIN],
    bearer_methods_supported: ['header'],
  });
});

const challenge = (res, status, params) => {
  const rendered = Object.entries(params).map(([k, v]) => `${k}="${v}"`).join(', ');
  res.status(status).set('WWW-Authenticate', `Bearer ${rendered}`).json({ error: params.error ?? 'unauthorized' });
};

async function introspect(token) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (process.env.INTROSPECTION_CLIENT_ID) {
    const pair = `${encodeURIComponent(process.env.INTROSPECTION_CLIENT_ID)}:${encodeURIComponent(process.env.INTROSPECTION_CLIENT_SECRET ?? '')}`;
    headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
  }
  const response = await fetch(introspectionUrl, {
    method: 'POST',
    headers,
    body: new URLSearchParams({ token }).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  const body = await response.json().catch(() => ({}));
  if (response.status !== 200 || body.active !== true) return undefined;
  return { clientId: body.client_id, scopes: (body.scope ?? '').split(' ').filter(Boolean), aud: body.aud };
}

const sessions = new Map();

app.all('/mcp', async (req, res) => {
  const header = req.headers.authorization ?? '';
  const token = /^Bearer (.+)$/i.exec(header)?.[1];
  const scopeParam = baseScopes.join(' ');
  if (!token) return challenge(res, 401, { resource_metadata: metadataUrl, scope: scopeParam });
  const caller = await introspect(token).catch(() => undefined);
  if (!caller) return challenge(res, 401, { error: 'invalid_token', resource_metadata: metadataUrl, scope: scopeParam });
  if (caller.aud !== undefined && caller.aud !== resource) {
    return challenge(res, 401, { error: 'invalid_token', resource_metadata: metadataUrl, scope: scopeParam });
  }
  const needs = [...baseScopes];
  const messages = Array.isArray(req.body) ? req.body : [req.body];
  if (messages.some((m) => m?.method === 'tools/call' && m?.params?.name === 'admin_echo')) needs.push(ADMIN);
  if (!needs.every((scope) => caller.scopes.includes(scope))) {
    return challenge(res, 403, { error: 'insufficient_scope', scope: needs.join(' '), resource_metadata: metadataUrl });
  }
  req.auth = { token, clientId: caller.clientId, scopes: caller.scopes };

  const sessionId = req.headers['mcp-session-id'];
  if (sessionId) {
    const session = sessions.get(sessionId);
    if (!session || session.clientId !== caller.clientId) {
      return res.status(404).json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
    }
    return session.transport.handleRequest(req, res, req.body);
  }
  if (req.method !== 'POST' || !isInitializeRequest(req.body)) {
    return res.status(400).json({ jsonrpc: '2.0', error: { code: -32000, message: 'No session' }, id: null });
  }
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    enableJsonResponse: true,
    onsessioninitialized: (id) => sessions.set(id, { transport, clientId: caller.clientId }),
  });
  transport.onclose = () => sessions.delete(transport.sessionId);
  const server = new McpServer({ name: 'axum-bearer-e2e-standin', version: '1.0.0' });
  server.registerTool('whoami', { description: 'The caller' }, async (extra) => ({
    content: [{ type: 'text', text: JSON.stringify({ client_id: extra.authInfo?.clientId, scopes: extra.authInfo?.scopes }) }],
  }));
  server.registerTool(
    'admin_echo',
    { description: 'Echo, with mcp:admin', inputSchema: { message: z.string() } },
    async ({ message }) => ({ content: [{ type: 'text', text: JSON.stringify({ echo: message }) }] }),
  );
  await server.connect(transport);
  return transport.handleRequest(req, res, req.body);
});

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
