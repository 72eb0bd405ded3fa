import { generateKeyPair } from '@slipway/core';
import { SimulatedDevice } from '@slipway/testkit';
import { call } from './lib/server-harness.mjs';
import { readFileSync } from 'node:fs';
const [url, caPath, n, conc] = process.argv.slice(2);
const ca = readFileSync(caPath, 'utf8');
const session = (await call(`${url}/api/management/v1/auth/login`, ca, 'POST', { username: 'admin', password: 'bench admin password' })).json.token;
const keys = Array.from({ length: Number(n) }, () => generateKeyPair('ecdsa-p256'));
const ids = keys.map((_, i) => ({ serial: `R-${Date.now()}-${i}` }));
const m = await call(`${url}/api/management/v1/devices/preauthorize`, ca, 'POST', { devices: keys.map((k, i) => ({ identity: ids[i], publicKey: k.publicKey.pem })) }, session);
console.log('preauth', m.status);
const devices = keys.map((k, i) => new SimulatedDevice({ server: url, ca, identity: ids[i], privateKeyPem: k.privatePem }));
let next = 0; const codes = {};
const t = performance.now();
await Promise.all(Array.from({ length: Number(conc) }, async () => { while (next < devices.length) { const d = devices[next++]; const r = await d.authenticate(); codes[r.status] = (codes[r.status] ?? 0) + 1; } }));
console.log(codes, (devices.length / ((performance.now() - t) / 1000)).toFixed(0), 'auth/s');
const tokens = devices.map(d => d.bearer).filter(Boolean);
require_write: {
  const { writeFileSync } = await import('node:fs');
  writeFileSync('/tmp/tokens.lua', `local tokens = { ${tokens.map((t) => `"${t}"`).join(',\n')} }\nlocal i = 0\nrequest = function()\n  i = (i % #tokens) + 1\n  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. tokens[i] })\nend\n`);
}
for (const d of devices) d.close();
