// SIGKILL the server while it writes; a restart must find every change it acknowledged, and an
// audit chain that still verifies.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../../cli/bin/slipway.mjs');
const API = '/api/management/v1';
const PASSWORD = 'crash test admin password';
let dir: string;
const children: ChildProcess[] = [];
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-crash-'));
});
after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

function start(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, 'server', '--data', join(dir, 'data'), '--listen', '127.0.0.1:0'], {
    env: { PATH: process.env.PATH ?? '', SLIPWAY_ADMIN_PASSWORD: PASSWORD },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolveStart, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start: ${out.slice(-2000)}`));
    }, 20_000);
    let started = false;
    child.stdout?.on('data', (d: Buffer) => {
      // Keep only a tail: the server logs every request of the load below.
      out = (out + d).slice(-20_000);
      const url = /"url":"(https:\/\/[^"]+)","msg":"listening"/.exec(out)?.[1];
      if (url && !started) {
        started = true;
        clearTimeout(timer);
        resolveStart({ child, url });
      }
    });
    child.stderr?.on('data', (d) => (out += d));
    children.push(child);
  });
}

function call(
  url: string,
  ca: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolveCall, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${url}${path}`,
      {
        method,
        ca,
        headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolveCall({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : null }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

test('a SIGKILL in the middle of writes loses no acknowledged change and leaves the audit chain intact', { timeout: 90_000 }, async () => {
  const first = await start();
  const ca = await readFile(join(dir, 'data', 'tls', 'ca.pem'), 'utf8');
  const token = (
    (await call(first.url, ca, 'POST', `${API}/auth/login`, { username: 'admin', password: PASSWORD })).json as { token: string }
  ).token;
  const acknowledged: string[] = [];
  let killed = false;
  const writers = Array.from({ length: 4 }, async (_, w) => {
    for (let i = 0; !killed && i < 200; i++) {
      const username = `crash-${w}-${i}`;
      try {
        const res = await call(
          first.url,
          ca,
          'POST',
          `${API}/users`,
          { username, password: 'a long enough password', role: 'viewer' },
          token,
        );
        if (res.status === 201) acknowledged.push(username);
      } catch {
        return; // the connection died with the server
      }
    }
  });
  const deadline = Date.now() + 30_000;
  while (acknowledged.length < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(acknowledged.length >= 20, 'the load ran');
  first.child.kill('SIGKILL');
  killed = true;
  await Promise.all(writers);
  await new Promise((r) => first.child.once('exit', r));

  const second = await start();
  try {
    const session = (
      (await call(second.url, ca, 'POST', `${API}/auth/login`, { username: 'admin', password: PASSWORD })).json as { token: string }
    ).token;
    const users = (await call(second.url, ca, 'GET', `${API}/users`, undefined, session)).json as { username: string }[];
    const present = new Set(users.map((u) => u.username));
    const lost = acknowledged.filter((u) => !present.has(u));
    assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged users were lost`);
    const verdict = (await call(second.url, ca, 'GET', `${API}/audit/verify`, undefined, session)).json as { ok: boolean };
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
  } finally {
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  }
});
