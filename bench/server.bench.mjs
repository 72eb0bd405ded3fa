#!/usr/bin/env node
// Server benchmark: wrk against our /healthz, against a bare Node https server with the same
// certificate, TLS settings and body (the baseline, measured in the same run), and against an
// authenticated read route with an API token (the cost of authentication). Prints requests/s,
// p99 latency and the ratios. Bounded: a few short wrk runs, every process stopped at the end.
import { ensureWrk, log, median, postgresUrl, RUNS, SECONDS, startBaseline, startOurs, stopAll, wrk } from './lib/server-harness.mjs';

const CONNECTIONS = 32;

async function main() {
  ensureWrk();
  const sqlite = await startOurs('sqlite', null);
  const pgUrl = postgresUrl();
  const postgres = pgUrl ? await startOurs('postgres', pgUrl) : null;
  if (!postgres) log('PostgreSQL is not reachable: the postgres rows are skipped');
  const { url: ours, ca, data } = sqlite;
  // The baseline: the same certificate, TLS floor and body from a bare node:https server.
  const base = await startBaseline(data, ca);

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
      const r = wrk(url, { headers, connections: CONNECTIONS });
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
  .finally(stopAll);
