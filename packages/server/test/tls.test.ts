import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ensureTls } from '../src/index.js';

const DAY_MS = 86_400_000;
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-tls-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const options = (now: Date, extraNames: string[] = []) => ({ certFile: '', keyFile: '', extraNames, now });

test('issues a local CA and a server certificate for localhost, loopback, the host name and extra names', async () => {
  const tlsDir = join(dir, 'first');
  const now = new Date();
  const tls = await ensureTls(tlsDir, options(now, ['updates.example.com', '10.1.2.3']));
  assert.equal(tls.issued, true);
  const [leaf] = tls.cert.split(/(?<=-----END CERTIFICATE-----\n)/);
  const cert = new X509Certificate(leaf as string);
  const ca = new X509Certificate(tls.caCert as string);
  assert.ok(cert.verify(ca.publicKey), 'signed by the local CA');
  assert.ok(ca.ca && !cert.ca);
  for (const name of ['localhost', hostname(), 'updates.example.com']) assert.ok(cert.checkHost(name), name);
  for (const ip of ['127.0.0.1', '::1', '10.1.2.3']) assert.ok(cert.checkIP(ip), ip);
  assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  for (const file of ['ca-key.pem', 'server-key.pem']) assert.equal((await stat(join(tlsDir, file))).mode & 0o777, 0o600, file);
  assert.equal(await readFile(join(tlsDir, 'ca.pem'), 'utf8'), tls.caCert);
  // Every PEM file ends with a newline: `cat ca.pem ca2.pem > bundle.pem` must give two certificates.
  for (const file of ['ca.pem', 'ca-key.pem', 'server.pem', 'server-key.pem'])
    assert.ok((await readFile(join(tlsDir, file), 'utf8')).endsWith('-----\n'), file);
  assert.equal(tls.cert.match(/-----BEGIN CERTIFICATE-----/g)?.length, 2, 'the server certificate and the CA');
});

test('reuses the certificate on the next start, and renews it with the same CA before it expires', async () => {
  const tlsDir = join(dir, 'renew');
  const now = new Date();
  const first = await ensureTls(tlsDir, options(now));
  const again = await ensureTls(tlsDir, options(new Date(now.getTime() + DAY_MS)));
  assert.equal(again.issued, false);
  assert.equal(again.cert, first.cert);
  const later = await ensureTls(tlsDir, options(new Date(now.getTime() + 380 * DAY_MS)));
  assert.equal(later.issued, true, 'less than 30 days left: renewed');
  assert.equal(later.caCert, first.caCert, 'devices that pinned the CA keep working');
});

test('reissues when a configured name is missing from the certificate', async () => {
  const tlsDir = join(dir, 'names');
  await ensureTls(tlsDir, options(new Date()));
  const withName = await ensureTls(tlsDir, options(new Date(), ['new.example.com']));
  assert.equal(withName.issued, true);
});

test('uses a configured certificate instead of the local CA, and names a missing file', async () => {
  const made = await ensureTls(join(dir, 'source'), options(new Date()));
  const source = join(dir, 'source');
  const configured = await ensureTls(join(dir, 'unused'), {
    certFile: join(source, 'server.pem'),
    keyFile: join(source, 'server-key.pem'),
    extraNames: [],
    now: new Date(),
  });
  assert.equal(configured.cert, made.cert);
  assert.equal(configured.caCert, null);
  await assert.rejects(
    ensureTls(join(dir, 'unused'), {
      certFile: join(dir, 'nope.pem'),
      keyFile: join(dir, 'nope-key.pem'),
      extraNames: [],
      now: new Date(),
    }),
    { code: 'SLW_TLS_FILES' },
  );
});
