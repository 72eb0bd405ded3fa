// A device as tests need it: a key, an identity, and signed authentication requests, sent with
// inject() (the real app, no socket). The agent and the testkit simulator speak the same protocol.
import 'reflect-metadata';
import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import {
  DEVICE_NEW_KEY_SIGNATURE_HEADER,
  DEVICE_SIGNATURE_HEADER,
  type DeviceAuthRequest,
  fileKeySigner,
  type GeneratableKeyType,
  generateKeyPair,
  identityUri,
  newNonce,
  PAYLOAD_TYPE_DEVICE_AUTH,
  parsePrivateKey,
  type Signer,
  signDeviceRequest,
  signKeyRotation,
} from '@slipway/core';
import type { FastifyInstance } from 'fastify';

x509.cryptoProvider.set(webcrypto as never);

export const DEVICES = '/api/devices/v1';

export interface TestDevice {
  readonly identity: Record<string, string>;
  readonly signer: Signer;
  readonly privatePem: string;
  readonly publicPem: string;
}

export function testDevice(serial: string, type: GeneratableKeyType = 'ecdsa-p256'): TestDevice {
  const pair = generateKeyPair(type);
  return {
    identity: { serial },
    signer: fileKeySigner(parsePrivateKey(pair.privatePem)),
    privatePem: pair.privatePem,
    publicPem: pair.publicKey.pem,
  };
}

export interface AuthOptions {
  readonly timestamp?: Date;
  readonly nonce?: string;
  readonly certificate?: string;
  readonly remoteAddress?: string;
  /** Sign with this signer instead of the device's (a forged request). */
  readonly signer?: Signer;
  readonly publicKey?: string;
}

export async function signedAuth(device: TestDevice, options: AuthOptions = {}) {
  const request: DeviceAuthRequest = {
    identity: device.identity,
    publicKey: options.publicKey ?? device.publicPem,
    timestamp: (options.timestamp ?? new Date()).toISOString(),
    nonce: options.nonce ?? newNonce(),
    ...(options.certificate ? { certificate: options.certificate } : {}),
  };
  return signDeviceRequest(options.signer ?? device.signer, PAYLOAD_TYPE_DEVICE_AUTH, request);
}

/** POST /auth with a freshly signed request; returns the raw response. */
export async function authenticate(app: FastifyInstance, device: TestDevice, options: AuthOptions = {}) {
  const { body, signature } = await signedAuth(device, options);
  return app.inject({
    method: 'POST',
    url: `${DEVICES}/auth`,
    headers: { 'content-type': 'application/json', [DEVICE_SIGNATURE_HEADER]: signature },
    payload: body,
    ...(options.remoteAddress ? { remoteAddress: options.remoteAddress } : {}),
  });
}

export function signedRotation(current: TestDevice, next: TestDevice) {
  return signKeyRotation(current.signer, next.signer, {
    newPublicKey: next.publicPem,
    timestamp: new Date().toISOString(),
    nonce: newNonce(),
  });
}

/** POST /keys: proposes `next` as the device's new key, signed by both keys. */
export async function proposeKey(app: FastifyInstance, token: string, current: TestDevice, next: TestDevice, nonce = newNonce()) {
  const { body, signature, newKeySignature } = await signKeyRotation(current.signer, next.signer, {
    newPublicKey: next.publicPem,
    timestamp: new Date().toISOString(),
    nonce,
  });
  return app.inject({
    method: 'POST',
    url: `${DEVICES}/keys`,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      [DEVICE_SIGNATURE_HEADER]: signature,
      [DEVICE_NEW_KEY_SIGNATURE_HEADER]: newKeySignature,
    },
    payload: body,
  });
}

export function errorCode(response: { json(): unknown }): string {
  return (response.json() as { error: { code: string } }).error.code;
}

export interface TestCa {
  readonly cert: string;
  issue(device: TestDevice, identity?: Record<string, string>): Promise<string>;
  /** A CRL (PEM) revoking the certificates with these serial numbers (hex). */
  crl(revokedSerials: readonly string[]): Promise<string>;
}

/** A manufacturing CA that issues device certificates carrying the identity as a SAN URI. */
export async function testCa(name: string): Promise<TestCa> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${name}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 365 * 86_400_000),
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  let serial = 1;
  return {
    cert: ca.toString('pem'),
    async issue(device, identity = device.identity) {
      const spki = createPublicKey(createPrivateKey(device.privatePem)).export({ type: 'spki', format: 'der' });
      const publicKey = await webcrypto.subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: (++serial).toString(16).padStart(2, '0'),
        subject: `CN=${identity.serial ?? 'device'}`,
        issuer: ca.subject,
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + 365 * 86_400_000),
        publicKey,
        signingKey: keys.privateKey,
        signingAlgorithm: algorithm,
        extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: identityUri(identity) }])],
      });
      return cert.toString('pem');
    },
    async crl(revokedSerials) {
      const crl = await x509.X509CrlGenerator.create({
        issuer: ca.subject,
        thisUpdate: new Date(now - 60_000),
        nextUpdate: new Date(now + 7 * 86_400_000),
        entries: revokedSerials.map((serialNumber) => ({ serialNumber, revocationDate: new Date(now - 30_000) })),
        signingKey: keys.privateKey,
        signingAlgorithm: algorithm,
      });
      // OpenSSL (and so Node's TLS) reads the X509 CRL label; the library writes plain CRL.
      return `${x509.PemConverter.encode(crl.rawData, 'X509 CRL')}\n`;
    },
  };
}
