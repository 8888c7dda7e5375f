// Checks the harness without Rust: as.mjs, standin-server.mjs (the example's environment contract
// in the TypeScript SDK) and client.mjs, wired as examples/rmcp-server/tests/e2e_clients.rs wires
// the real example. `npm test --prefix tests/e2e`: runs client.mjs, and client.py when the parity
// venv exists; their reports on stdout, exit 0 when both passed.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const children = [];
const cleanup = () => children.forEach((child) => child.kill('SIGTERM'));
process.on('exit', cleanup);
setTimeout(() => {
  console.error('selftest: timed out');
  process.exit(1);
}, 90_000).unref();

/** Starts `node script`, resolves with the first stdout line matching `pattern`. */
function start(script, env, pattern) {
  const child = spawn(process.execPath, [here(script)], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const lines = createInterface({ input: child.stdout });
  const seen = [];
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before it was ready`)));
    lines.on('line', (line) => {
      seen.push(line);
      const match = pattern.exec(line);
      if (match) resolve({ child, match, seen });
    });
  });
}

const as = await start('as.mjs', {}, /^(\{.*"issuer".*\})$/);
const metadata = JSON.parse(as.match[1]);
const mcp = await start(
  'standin-server.mjs',
  { PORT: '0', AUTH_SERVER_URL: metadata.issuer, INTROSPECTION_URL: metadata.introspection_endpoint },
  /listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/,
);
const run = async (command, args) => {
  const client = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((resolve) => {
    client.once('error', () => resolve(127));
    client.once('exit', resolve);
  });
};
let failed = false;
const code = await run(process.execPath, [here('client.mjs'), mcp.match[1]]);
console.error(`selftest: client.mjs exited ${code}`);
failed ||= code !== 0;
// The Python client too, when the parity venv exists (tests/parity/setup-venv.sh).
const venv = process.env.PARITY_VENV ?? here('../../target/parity-venv');
const python = `${venv}/bin/python`;
if (existsSync(python)) {
  const pyCode = await run(python, [here('client.py'), mcp.match[1]]);
  console.error(`selftest: client.py exited ${pyCode}`);
  failed ||= pyCode !== 0;
} else {
  console.error(`selftest: ${python} missing, client.py not run`);
}
const introspections = as.seen.filter((line) => line.includes('"/introspect"')).length;
console.error(`selftest: the authorization server answered ${introspections} introspection calls`);
process.exit(!failed && introspections > 0 ? 0 : 1);
