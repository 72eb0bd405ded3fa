// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API first.
import 'reflect-metadata';
import { randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { SlipwayError, writeFileAtomic } from '@slipway/core';

// @peculiar/x509 speaks WebCrypto; Node's implementation backs it (no OpenSSL binary involved).
x509.cryptoProvider.set(webcrypto as never);
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
const CA_LIFETIME_DAYS = 3650;
/** Short enough that a leaked key ages out, long enough that renewal is rare; renewed at start-up. */
const SERVER_LIFETIME_DAYS = 397;
const RENEW_BEFORE_DAYS = 30;

export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  /** The CA devices and the CLI pin; the configured chain when a certificate is configured. */
  readonly caCert: string | null;
  /** SHA-256 fingerprint of the CA certificate, for the log line an operator compares. */
  readonly caFingerprint: string | null;
  readonly issued: boolean;
}

export const TLS_FILES = {
  caCert: 'ca.pem',
  caKey: 'ca-key.pem',
  cert: 'server.pem',
  key: 'server-key.pem',
} as const;

/** The names a locally issued server certificate covers. */
export function serverNames(extraNames: readonly string[]): string[] {
  return [...new Set(['localhost', '127.0.0.1', '::1', hostname(), ...extraNames])];
}

const isIp = (name: string) => /^[0-9.]+$/.test(name) || name.includes(':');

async function readIfPresent(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new SlipwayError('SLW_TLS_FILES', `${path} cannot be read`, { cause: err });
  }
}

function pem(der: ArrayBuffer, label: string): string {
  return `${x509.PemConverter.encode(der, label)}\n`;
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f; // positive
  return bytes.toString('hex');
}

async function exportKey(key: CryptoKey): Promise<string> {
  return pem(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

async function importKey(pemText: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pemText);
  return webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, true, ['sign']);
}

async function createCa(now: Date): Promise<{ cert: string; key: CryptoKey }> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=Slipway local CA ${hostname()}`,
    notBefore: new Date(now.getTime() - DAY_MS),
    notAfter: new Date(now.getTime() + CA_LIFETIME_DAYS * DAY_MS),
    signingAlgorithm: ALGORITHM,
    keys: keys as never,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    ],
  });
  // A PEM file ends with a newline, so `cat ca.pem other.pem > bundle.pem` makes a valid bundle.
  return { cert: `${cert.toString('pem')}\n`, key: keys.privateKey };
}

async function issueServerCert(
  caPem: string,
  caKey: CryptoKey,
  names: readonly string[],
  now: Date,
): Promise<{ cert: string; key: string }> {
  const ca = new x509.X509Certificate(caPem);
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${names.find((n) => !isIp(n)) ?? 'localhost'}`,
    issuer: ca.subject,
    notBefore: new Date(now.getTime() - DAY_MS),
    notAfter: new Date(now.getTime() + SERVER_LIFETIME_DAYS * DAY_MS),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey as never,
    signingKey: caKey as never,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: isIp(value) ? 'ip' : 'dns', value }))),
      await x509.AuthorityKeyIdentifierExtension.create(ca, false),
    ],
  });
  return { cert: `${cert.toString('pem')}\n${caPem.trimEnd()}\n`, key: await exportKey(keys.privateKey) };
}

/** True when the certificate is valid for another RENEW_BEFORE_DAYS and covers every name. */
function stillGood(certPem: string, names: readonly string[], now: Date): boolean {
  try {
    const cert = new X509Certificate(certPem);
    if (Date.parse(cert.validTo) - now.getTime() < RENEW_BEFORE_DAYS * DAY_MS) return false;
    return names.every((name) => (isIp(name) ? cert.checkIP(name) !== undefined : cert.checkHost(name) !== undefined));
  } catch {
    return false;
  }
}

function fingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/**
 * The server's TLS material. A configured certificate wins. Otherwise a local CA in `tlsDir`
 * issues the server certificate on first start and again whenever it nears expiry or misses a
 * configured name; key files are written 0600 and atomically, so a crash leaves old or new.
 */
export async function ensureTls(
  tlsDir: string,
  options: { certFile: string; keyFile: string; extraNames: readonly string[]; now: Date },
): Promise<TlsMaterial> {
  if (options.certFile !== '') {
    const [cert, key] = await Promise.all([readIfPresent(options.certFile), readIfPresent(options.keyFile)]);
    if (cert === null || key === null) {
      throw new SlipwayError(
        'SLW_TLS_FILES',
        `configured certificate ${cert === null ? options.certFile : options.keyFile} does not exist`,
      );
    }
    return { cert, key, caCert: null, caFingerprint: null, issued: false };
  }
  await mkdir(tlsDir, { recursive: true, mode: 0o700 });
  const path = (name: keyof typeof TLS_FILES) => join(tlsDir, TLS_FILES[name]);
  let caCert = await readIfPresent(path('caCert'));
  let caKeyPem = await readIfPresent(path('caKey'));
  if (caCert === null || caKeyPem === null || !stillGood(caCert, [], options.now)) {
    const ca = await createCa(options.now);
    caCert = ca.cert;
    caKeyPem = await exportKey(ca.key);
    await writeFileAtomic(path('caKey'), caKeyPem, { mode: 0o600 });
    await writeFileAtomic(path('caCert'), caCert, { mode: 0o644 });
  }
  const names = serverNames(options.extraNames);
  const existing = await readIfPresent(path('cert'));
  const existingKey = await readIfPresent(path('key'));
  if (existing !== null && existingKey !== null && stillGood(existing, names, options.now) && existing.includes(caCert.trim())) {
    return { cert: existing, key: existingKey, caCert, caFingerprint: fingerprint(caCert), issued: false };
  }
  const issued = await issueServerCert(caCert, await importKey(caKeyPem), names, options.now);
  await writeFileAtomic(path('key'), issued.key, { mode: 0o600 });
  await writeFileAtomic(path('cert'), issued.cert, { mode: 0o644 });
  return { cert: issued.cert, key: issued.key, caCert, caFingerprint: fingerprint(caCert), issued: true };
}
