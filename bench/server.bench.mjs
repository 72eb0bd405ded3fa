#!/usr/bin/env node
// Server benchmark: wrk against our /healthz, against a bare Node https server with the same
// certificate, TLS settings and body (the baseline, measured in the same run), and against an
// authenticated read route with an API token (the cost of authentication). Prints requests/s,
// p99 latency and the ratios. Bounded: a few short wrk runs, every process stopped at the end.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(repo, 'packages/cli/bin/slipway.mjs');
const SECONDS = Number(process.env.SLIPWAY_BENCH_SECONDS ?? 8);
const RUNS = Number(process.env.SLIPWAY_BENCH_RUNS ?? 3);
const CONNECTIONS = 32;
const log = (m) => process.stderr.write(`[bench] ${m}\n`);
const children = [];
const work = mkdtempSync(join(tmpdir(), 'slipway-bench-server-'));

function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

function ensureWrk() {
  if (spawnSync('wrk', ['--version']).error === undefined) return;
  log('wrk is missing: apt-get install -y wrk');
  spawnSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (spawnSync('wrk', ['--version']).error !== undefined) throw new Error('wrk is not installed and apt-get could not install it');
}

function freePort() {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function call(url, ca, method, body, token) {
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

async function waitFor(url, ca) {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await call(url, ca, 'GET')).status === 200) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

/** One wrk run: requests/s and the p99 latency in ms. */
function wrk(url, headers = []) {
  const args = ['-t2', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--latency', ...headers.flatMap((h) => ['-H', h]), url];
  const r = spawnSync('wrk', args, { encoding: 'utf8', timeout: (SECONDS + 30) * 1000 });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr || r.stdout}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
  const p99raw = /99%\s+([\d.]+)(us|ms|s)/.exec(r.stdout);
  const p99 = p99raw ? Number(p99raw[1]) * { us: 0.001, ms: 1, s: 1000 }[p99raw[2]] : Number.NaN;
  const errors = /Non-2xx or 3xx responses:\s+(\d+)/.exec(r.stdout)?.[1];
  if (errors) throw new Error(`${url}: ${errors} non-2xx responses`);
  return { rps, p99 };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A PostgreSQL URL with a fresh schema for this run, or null when the service is not there. */
function postgresUrl() {
  const base = process.env.SLIPWAY_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `slipway_bench_${process.pid}`;
  const r = spawnSync('psql', [base, '-qc', `create schema if not exists ${schema}`], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return null;
  process.on('exit', () => spawnSync('psql', [base, '-qc', `drop schema if exists ${schema} cascade`], { timeout: 10_000 }));
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/** Starts slipway server on a free port; database null means SQLite in the data directory. */
async function startOurs(name, database) {
  const port = await freePort();
  const data = join(work, name);
  const args = [BIN, 'server', '--data', data, '--listen', `127.0.0.1:${port}`, ...(database ? ['--database', database] : [])];
  const server = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH, SLIPWAY_ADMIN_PASSWORD: 'bench admin password' },
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
  return { url, ca, data, token };
}

async function main() {
  ensureWrk();
  const sqlite = await startOurs('sqlite', null);
  const pgUrl = postgresUrl();
  const postgres = pgUrl ? await startOurs('postgres', pgUrl) : null;
  if (!postgres) log('PostgreSQL is not reachable: the postgres rows are skipped');
  const { url: ours, ca, data } = sqlite;

  // The baseline: the same certificate, TLS floor and body from a bare node:https server.
  const basePort = await freePort();
  const baselineCode = `
    const { createServer } = require('node:https'); const { readFileSync } = require('node:fs');
    const body = JSON.stringify({ status: 'ok' });
    createServer({ key: readFileSync(${JSON.stringify(join(data, 'tls', 'server-key.pem'))}), cert: readFileSync(${JSON.stringify(join(data, 'tls', 'server.pem'))}), minVersion: 'TLSv1.2' },
      (req, res) => { res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }); res.end(body); })
      .listen(${basePort}, '127.0.0.1');`;
  const baseline = spawn(process.execPath, ['-e', baselineCode], { stdio: 'inherit' });
  children.push(baseline);
  const base = `https://localhost:${basePort}`;
  await waitFor(`${base}/healthz`, ca);

  const targets = [
    ['bare node https (baseline)', `${base}/healthz`, []],
    ['slipway /healthz (sqlite)', `${ours}/healthz`, []],
    ['slipway whoami with an API token (sqlite)', `${ours}/api/management/v1/auth/whoami`, [`Authorization: Bearer ${sqlite.token}`]],
    ...(postgres
      ? [
          ['slipway /healthz (postgres)', `${postgres.url}/healthz`, []],
          [
            'slipway whoami with an API token (postgres)',
            `${postgres.url}/api/management/v1/auth/whoami`,
            [`Authorization: Bearer ${postgres.token}`],
          ],
        ]
      : []),
  ];
  const results = new Map(targets.map(([name]) => [name, []]));
  for (let run = 1; run <= RUNS; run++) {
    for (const [name, url, headers] of targets) {
      const r = wrk(url, headers);
      results.get(name).push(r);
      log(`run ${run}: ${name.padEnd(40)} ${r.rps.toFixed(0).padStart(7)} req/s  p99 ${r.p99.toFixed(2)} ms`);
    }
  }
  const summary = targets.map(([name]) => ({
    name,
    rps: median(results.get(name).map((r) => r.rps)),
    p99: median(results.get(name).map((r) => r.p99)),
  }));
  const baseRps = summary[0].rps;
  const baseP99 = summary[0].p99;
  process.stdout.write(
    `\nSlipway server benchmark: wrk -t2 -c${CONNECTIONS} -d${SECONDS}s, median of ${RUNS} runs, TLS 1.2+ on loopback, same certificate\n`,
  );
  process.stdout.write(`ratio = ours / baseline (req/s: above 1 is faster; p99: below 1 is faster)\n\n`);
  process.stdout.write(
    `${'target'.padEnd(42)} ${'req/s'.padStart(8)} ${'ratio'.padStart(6)} ${'p99 ms'.padStart(8)} ${'ratio'.padStart(6)}\n`,
  );
  for (const s of summary) {
    process.stdout.write(
      `${s.name.padEnd(42)} ${s.rps.toFixed(0).padStart(8)} ${(s.rps / baseRps).toFixed(2).padStart(6)} ${s.p99.toFixed(2).padStart(8)} ${(s.p99 / baseP99).toFixed(2).padStart(6)}\n`,
    );
  }
  for (let i = 1; i + 1 < summary.length; i += 2) {
    const auth = summary[i + 1].rps / summary[i].rps;
    process.stdout.write(
      `\nauthentication cost (${summary[i].name.slice(summary[i].name.lastIndexOf('(') + 1, -1)}): the token route serves ${(auth * 100).toFixed(0)}% of /healthz's requests/s`,
    );
  }
  process.stdout.write('\n');
}

main()
  .catch((err) => {
    log(`ERROR: ${err.message}`);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) c.kill('SIGTERM');
  });
