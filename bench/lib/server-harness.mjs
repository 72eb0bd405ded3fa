// Shared by the server benchmarks: start slipway servers and a bare node:https baseline on free
// loopback ports, drive them with wrk, and stop everything at exit. Every run is bounded.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(repo, 'packages/cli/bin/slipway.mjs');
export const SECONDS = Number(process.env.SLIPWAY_BENCH_SECONDS ?? 8);
export const RUNS = Number(process.env.SLIPWAY_BENCH_RUNS ?? 3);
export const log = (m) => process.stderr.write(`[bench] ${m}\n`);
const children = [];
export const work = mkdtempSync(join(tmpdir(), 'slipway-bench-server-'));

function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

/** Stops every process this harness started (SIGTERM; SIGKILL at exit if one lingers). */
export function stopAll() {
  for (const c of children) c.kill('SIGTERM');
}

/** The pid of the server that startOurs started on this data directory (to sample its RSS), or undefined. */
export function serverPid(data) {
  return children.find((c) => c.spawnargs.includes(data) && c.exitCode === null)?.pid;
}

export function ensureWrk() {
  if (spawnSync('wrk', ['--version']).error === undefined) return;
  log('wrk is missing: apt-get install -y wrk');
  spawnSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (spawnSync('wrk', ['--version']).error !== undefined) throw new Error('wrk is not installed and apt-get could not install it');
}

export function freePort() {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

export function call(url, ca, method, body, token) {
  return new Promise((res, rej) => {
    const payload = body ? JSON.stringify(body) : undefined;
    const headers = { ...(payload ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) };
    const req = request(url, { method, ca, headers }, (r) => {
      let t = '';
      r.on('data', (d) => (t += d));
      r.on('end', () => res({ status: r.statusCode, json: t ? JSON.parse(t) : null }));
    });
    req.on('error', rej);
    req.end(payload);
  });
}

export async function waitFor(url, ca) {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await call(url, ca, 'GET')).status === 200) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

/** One wrk run: requests/s and the p99 latency in ms. `script` is a wrk Lua file. */
export function wrk(url, { headers = [], connections = 32, script } = {}) {
  const args = [
    '-t2',
    `-c${connections}`,
    `-d${SECONDS}s`,
    '--latency',
    ...headers.flatMap((h) => ['-H', h]),
    ...(script ? ['-s', script] : []),
    url,
  ];
  const r = spawnSync('wrk', args, { encoding: 'utf8', timeout: (SECONDS + 60) * 1000 });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr || r.stdout}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
  const p99raw = /99%\s+([\d.]+)(us|ms|s)/.exec(r.stdout);
  const p99 = p99raw ? Number(p99raw[1]) * { us: 0.001, ms: 1, s: 1000 }[p99raw[2]] : Number.NaN;
  const errors = /Non-2xx or 3xx responses:\s+(\d+)/.exec(r.stdout)?.[1];
  if (errors) throw new Error(`${url}: ${errors} non-2xx responses`);
  const socketErrors = /Socket errors: (.*)/.exec(r.stdout)?.[1];
  return { rps, p99, socketErrors };
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A PostgreSQL URL with a fresh schema for this run, or null when the service is not there. */
export function postgresUrl(tag = 'bench') {
  const base = process.env.SLIPWAY_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `slipway_${tag}_${process.pid}`;
  const r = spawnSync('psql', [base, '-qc', `create schema if not exists ${schema}`], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return null;
  process.on('exit', () => spawnSync('psql', [base, '-qc', `drop schema if exists ${schema} cascade`], { timeout: 10_000 }));
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/** Starts slipway server on a free port (database null: SQLite), logs in, and makes an API token. */
export async function startOurs(name, database, env = {}) {
  const port = await freePort();
  const data = join(work, name);
  const args = [BIN, 'server', '--data', data, '--listen', `127.0.0.1:${port}`, ...(database ? ['--database', database] : [])];
  const server = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH, SLIPWAY_ADMIN_PASSWORD: 'bench admin password', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(server);
  const caPath = join(data, 'tls', 'ca.pem');
  for (let i = 0; i < 100 && spawnSync('test', ['-f', caPath]).status !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  const ca = readFileSync(caPath, 'utf8');
  const url = `https://localhost:${port}`;
  await waitFor(`${url}/healthz`, ca);
  const session = (await call(`${url}/api/management/v1/auth/login`, ca, 'POST', { username: 'admin', password: 'bench admin password' }))
    .json.token;
  const token = (await call(`${url}/api/management/v1/tokens`, ca, 'POST', { name: 'bench', role: 'viewer' }, session)).json.token;
  return { url, ca, data, token, session };
}

/**
 * The baseline: a bare node:https server with the same certificate, key and TLS floor, answering
 * every request with a small JSON body, like our routes do.
 */
export async function startBaseline(data, ca) {
  const port = await freePort();
  const code = `
    const { createServer } = require('node:https'); const { readFileSync } = require('node:fs');
    const body = JSON.stringify({ status: 'ok' });
    createServer({ key: readFileSync(${JSON.stringify(join(data, 'tls', 'server-key.pem'))}), cert: readFileSync(${JSON.stringify(join(data, 'tls', 'server.pem'))}), minVersion: 'TLSv1.2' },
      (req, res) => { req.resume(); req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }); res.end(body); }); })
      .listen(${port}, '127.0.0.1');`;
  const baseline = spawn(process.execPath, ['-e', code], { stdio: 'inherit' });
  children.push(baseline);
  const url = `https://localhost:${port}`;
  await waitFor(`${url}/healthz`, ca);
  return url;
}

/** The slipway command line, as the benchmarks run it. */
export const CLI = join(repo, 'packages/cli/bin/slipway.mjs');

/** Runs the slipway CLI against the server as the admin; throws with its output on failure. */
export function slipway(server, args) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    timeout: 600_000,
    env: {
      PATH: process.env.PATH,
      HOME: work,
      XDG_CONFIG_HOME: join(work, 'config'),
      SLIPWAY_SERVER: server.url,
      SLIPWAY_TOKEN: server.session,
      SLIPWAY_CA: join(server.data, 'tls', 'ca.pem'),
    },
  });
  if (r.status !== 0) throw new Error(`slipway ${args.join(' ')}: exit ${r.status ?? r.signal}\n  ${`${r.stderr}${r.stdout}`.trim()}`);
  return r.stdout;
}

/** SHA-256 of a file, streamed in 1 MiB reads. */
export function sha256File(path) {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash('sha256');
    createReadStream(path, { highWaterMark: 1024 * 1024 })
      .on('data', (d) => hash.update(d))
      .on('error', reject)
      .on('end', () => resolvePromise(hash.digest('hex')));
  });
}
