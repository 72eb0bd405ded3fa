import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { SlipwayError } from '@slipway/core';
import { jwtVerify, SignJWT } from 'jose';
import type { ServerSecretRepository } from '../repositories/server-secret.repository.js';

const SECRET_NAME = 'device-token-signing-key';
const ISSUER = 'slipway';
const AUDIENCE = 'slipway-device-api';

/**
 * Device tokens: short-lived JWTs (EdDSA) naming the device. The signing key lives in the
 * database, created on first use, so every server process of one fleet shares it. A token only
 * says who the device is; whether it is still accepted is read from the database on every request.
 */
export class DeviceTokens {
  private constructor(
    private readonly privateKey: KeyObject,
    private readonly publicKey: KeyObject,
    private readonly lifetimeSeconds: number,
  ) {}

  static async open(secrets: ServerSecretRepository, lifetimeSeconds: number, now: Date): Promise<DeviceTokens> {
    const generated = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    // Insert-if-absent, then read: two processes starting at once agree on one key.
    const pem = await secrets.getOrCreate(SECRET_NAME, generated, now.toISOString());
    const privateKey = createPrivateKey(pem);
    return new DeviceTokens(privateKey, createPublicKey(privateKey), lifetimeSeconds);
  }

  /**
   * A token for the device; with `certificateThumbprint` (mutual TLS) it is bound to that client
   * certificate (RFC 8705 `cnf`), so a stolen token is useless without the device's TLS key too.
   */
  async issue(deviceId: string, now: Date, certificateThumbprint?: string): Promise<{ token: string; expiresAt: string }> {
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + this.lifetimeSeconds;
    const token = await new SignJWT(certificateThumbprint ? { cnf: { 'x5t#S256': certificateThumbprint } } : {})
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(deviceId)
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(this.privateKey);
    return { token, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /** The device a valid, unexpired token names, and the certificate it is bound to; SLW_DEVICE_TOKEN_INVALID otherwise. */
  async verify(token: string, now: Date): Promise<{ deviceId: string; certificateThumbprint?: string }> {
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        algorithms: ['EdDSA'],
        issuer: ISSUER,
        audience: AUDIENCE,
        currentDate: now,
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      if (typeof payload.sub !== 'string') throw new Error('no subject');
      const bound = (payload.cnf as { 'x5t#S256'?: unknown } | undefined)?.['x5t#S256'];
      return { deviceId: payload.sub, ...(typeof bound === 'string' ? { certificateThumbprint: bound } : {}) };
    } catch (err) {
      throw new SlipwayError('SLW_DEVICE_TOKEN_INVALID', 'the device token is invalid or expired; authenticate again', { cause: err });
    }
  }
}
