#!/usr/bin/env node
// Device benchmark: N simulated devices (@slipway/testkit, each its own key and TLS connection)
// authenticate against slipway server, then check in authenticated; wrk drives the check-ins with
// one connection per device, rotating their tokens. The bare node:https server of the server
// benchmark is measured in the same run with the same client and the same concurrency: the
// ceiling. Prints auth/s and check-ins/s, p99, and the ratios. Bounded in count and time.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, newNonce } from '@slipway/core';
import { SimulatedDevice } from '@slipway/testkit';
import {
  call,
  ensureWrk,
  log,
  median,
  postgresUrl,
  RUNS,
  SECONDS,
  startBaseline,
  startOurs,
  stopAll,
  work,
  wrk,
} from './lib/server-harness.mjs';

const DEVICES = Number(process.env.SLIPWAY_BENCH_DEVICES ?? 1000);
const AUTH_CONCURRENCY = 50;
const STEADY_SECONDS = 10;
const GOAL_RATIO = 0.5;
const GOAL_P99_MS = 50;

/** Runs `task` for every item, `concurrency` at a time; returns the per-item latencies in ms. */
async function pool(items, concurrency, task) {
  const latencies = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++];
        const started = performance.now();
        await task(item);
        latencies.push(performance.now() - started);
      }
    }),
  );
  return latencies;
}

const p99 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)];

/** Preauthorizes N new devices and authenticates each once, on its own connection. */
async function authenticateFleet(server, label) {
  const keys = Array.from({ length: DEVICES }, () => generateKeyPair('ecdsa-p256'));
  const identities = keys.map((_, i) => ({ serial: `BENCH-${label}-${String(i).padStart(6, '0')}` }));
  const manifest = { devices: keys.map((k, i) => ({ identity: identities[i], publicKey: k.publicKey.pem })) };
  const imported = await call(`${server.url}/api/management/v1/devices/preauthorize`, server.ca, 'POST', manifest, server.session);
  if (imported.status !== 200) throw new Error(`preauthorize: ${imported.status} ${JSON.stringify(imported.json)}`);
  const devices = keys.map(
    (k, i) => new SimulatedDevice({ server: server.url, ca: server.ca, identity: identities[i], privateKeyPem: k.privatePem }),
  );
  const started = performance.now();
  const latencies = await pool(devices, AUTH_CONCURRENCY, async (device) => {
    const reply = await device.authenticate();
    if (reply.status !== 200) throw new Error(`authenticate: ${reply.status} ${JSON.stringify(reply.body)}`);
  });
  const seconds = (performance.now() - started) / 1000;
  // A second round on the open connections: authentication without the TLS handshake.
  const again = performance.now();
  const warmLatencies = await pool(devices, AUTH_CONCURRENCY, async (device) => {
    const reply = await device.authenticate();
    if (reply.status !== 200) throw new Error(`authenticate: ${reply.status}`);
  });
  const warmSeconds = (performance.now() - again) / 1000;
  const tokens = devices.map((d) => d.bearer);
  const steady = await steadyCheckIns(devices);
  for (const d of devices) d.close();
  return {
    steady,
    cold: { rate: DEVICES / seconds, p99: p99(latencies) },
    warm: { rate: DEVICES / warmSeconds, p99: p99(warmLatencies) },
    tokens,
  };
}

/**
 * Open loop, as a fleet behaves: every device checks in once per second on its own connection,
 * each at its own phase, for STEADY_SECONDS. Latency here is service time plus real queueing,
 * not the queue a saturating closed loop builds. Returns the achieved rate and the p99.
 */
async function steadyCheckIns(devices) {
  const latencies = [];
  let failures = 0;
  const until = performance.now() + STEADY_SECONDS * 1000;
  await Promise.all(
    devices.map(async (device, i) => {
      await new Promise((r) => setTimeout(r, (1000 * i) / devices.length));
      while (performance.now() < until) {
        const started = performance.now();
        const reply = await device.checkIn();
        if (reply.status !== 200) failures++;
        const took = performance.now() - started;
        latencies.push(took);
        await new Promise((r) => setTimeout(r, Math.max(0, 1000 - took)));
      }
    }),
  );
  if (failures > 0) throw new Error(`${failures} check-ins failed`);
  return { rate: latencies.length / STEADY_SECONDS, p99: p99(latencies) };
}

/** The same client work against the bare server: one POST of an auth-sized body per device. */
async function baselineAuth(base, ca) {
  const body = {
    identity: { serial: 'BENCH-000000' },
    publicKey: generateKeyPair('ecdsa-p256').publicKey.pem,
    timestamp: new Date().toISOString(),
    nonce: newNonce(),
  };
  const started = performance.now();
  const latencies = await pool(
    Array.from({ length: DEVICES }, (_, i) => i),
    AUTH_CONCURRENCY,
    async () => {
      // A new connection each time, like a device's first authentication.
      const reply = await call(`${base}/auth`, ca, 'POST', body);
      if (reply.status !== 200) throw new Error(`baseline: ${reply.status}`);
    },
  );
  return { rate: DEVICES / ((performance.now() - started) / 1000), p99: p99(latencies) };
}

/** A wrk script that sends each request with the next device's token. */
function tokenScript(tokens, name) {
  const file = join(work, `${name}.lua`);
  writeFileSync(
    file,
    `local tokens = { ${tokens.map((t) => `"${t}"`).join(',\n')} }
local i = 0
request = function()
  i = (i % #tokens) + 1
  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. tokens[i] })
end
`,
  );
  return file;
}

async function main() {
  ensureWrk();
  const targets = [['sqlite', null]];
  const pg = postgresUrl('bench_devices');
  if (pg) targets.push(['postgres', pg]);
  else log('PostgreSQL is not reachable: the postgres rows are skipped');

  const results = [];
  let baseline;
  for (const [name, database] of targets) {
    const server = await startOurs(`devices-${name}`, database);
    if (!baseline) {
      const url = await startBaseline(server.data, server.ca);
      log(`baseline: ${DEVICES} authentications and wrk -c${DEVICES} check-ins against bare node https`);
      const auth = await baselineAuth(url, server.ca);
      const runs = Array.from({ length: RUNS }, () => wrk(`${url}/check-in`, { connections: DEVICES }));
      baseline = { auth, checkIn: { rps: median(runs.map((r) => r.rps)), p99: median(runs.map((r) => r.p99)) } };
    }
    log(`${name}: ${DEVICES} devices authenticate`);
    const fleet = await authenticateFleet(server, name);
    const script = tokenScript(fleet.tokens, name);
    log(`${name}: wrk -c${DEVICES} check-ins, ${RUNS} runs of ${SECONDS} s`);
    const runs = Array.from({ length: RUNS }, () => wrk(`${server.url}/api/devices/v1/device`, { connections: DEVICES, script }));
    for (const r of runs)
      log(
        `${name}: ${r.rps.toFixed(0)} check-ins/s, p99 ${r.p99.toFixed(1)} ms${r.socketErrors ? `, socket errors ${r.socketErrors}` : ''}`,
      );
    results.push({ name, fleet, checkIn: { rps: median(runs.map((r) => r.rps)), p99: median(runs.map((r) => r.p99)) } });
  }

  const row = (label, rate, ms, base) =>
    `${label.padEnd(52)} ${rate.toFixed(0).padStart(8)} ${(rate / base.rate).toFixed(2).padStart(6)} ${ms.toFixed(1).padStart(8)}\n`;
  let out = `\nSlipway device benchmark: ${DEVICES} simulated devices, TLS 1.2+ on loopback, same certificate\n`;
  out += `authentication: ${AUTH_CONCURRENCY} at a time, each device once on a new connection (cold) and once more on it (warm)\n`;
  out += `check-ins, saturated: wrk -t2 -c${DEVICES} -d${SECONDS}s, one connection per device, median of ${RUNS} runs\n`;
  out += `check-ins, steady: each device once a second on its own connection for ${STEADY_SECONDS} s (open loop)\n\n`;
  out += `${'target'.padEnd(52)} ${'per s'.padStart(8)} ${'ratio'.padStart(6)} ${'p99 ms'.padStart(8)}\n`;
  out += row('bare node https: POST, new connection (auth ceiling)', baseline.auth.rate, baseline.auth.p99, baseline.auth);
  out += row('bare node https: GET, kept connection (check-in ceiling)', baseline.checkIn.rps, baseline.checkIn.p99, {
    rate: baseline.checkIn.rps,
  });
  const verdicts = [];
  for (const r of results) {
    out += row(`slipway authentications, new connection (${r.name})`, r.fleet.cold.rate, r.fleet.cold.p99, baseline.auth);
    out += row(`slipway authentications, kept connection (${r.name})`, r.fleet.warm.rate, r.fleet.warm.p99, baseline.auth);
    out += row(`slipway authenticated check-ins, saturated (${r.name})`, r.checkIn.rps, r.checkIn.p99, { rate: baseline.checkIn.rps });
    out += row(`slipway check-ins, each device once a second (${r.name})`, r.fleet.steady.rate, r.fleet.steady.p99, {
      rate: baseline.checkIn.rps,
    });
    const ratio = r.checkIn.rps / baseline.checkIn.rps;
    verdicts.push(
      `${ratio >= GOAL_RATIO ? 'PASS' : 'FAIL'} check-in throughput on ${r.name}: ${ratio.toFixed(2)}x the ceiling (goal >= ${GOAL_RATIO})`,
      `${r.fleet.steady.p99 < GOAL_P99_MS ? 'PASS' : 'FAIL'} check-in p99 on ${r.name} with ${DEVICES} devices each checking in once a second: ${r.fleet.steady.p99.toFixed(1)} ms (goal < ${GOAL_P99_MS})`,
    );
  }
  process.stdout.write(`${out}\n${verdicts.join('\n')}\n`);
}

main()
  .catch((err) => {
    log(`ERROR: ${err.message}`);
    process.exitCode = 1;
  })
  .finally(stopAll);
