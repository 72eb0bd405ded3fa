import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { SlipwayError } from '@slipway/core';
import { createSigner, createVerifier } from 'fast-jwt';
import type { ServerSecretRepository } from '../repositories/server-secret.repository.js';

const SECRET_NAME = 'device-token-signing-key';
const ISSUER = 'slipway';
const AUDIENCE = 'slipway-device-api';
/** Verified tokens remembered (their signature cannot change); status is still read per request. */
const VERIFIED_CACHE_SIZE = 100_000;

interface DeviceClaims {
  readonly sub: string;
  readonly exp: number;
  readonly cnf?: { readonly 'x5t#S256'?: unknown };
}

/**
 * Device tokens: short-lived JWTs (EdDSA, fast-jwt over node:crypto) naming the device. The
 * signing key lives in the database, created on first use, so every server process of one fleet
 * shares it. A token only says who the device is; whether it is still accepted is read from the
 * database on every request.
 */
export class DeviceTokens {
  private readonly sign: (payload: object) => string;
  private readonly decodeVerified: (token: string) => DeviceClaims;

  private constructor(
    privatePem: string,
    publicPem: string,
    private readonly lifetimeSeconds: number,
  ) {
    this.sign = createSigner({ key: privatePem, algorithm: 'EdDSA', iss: ISSUER, aud: AUDIENCE });
    // Expiry is checked below against the server's clock, so a cached verification never outlives its token.
    this.decodeVerified = createVerifier({
      key: publicPem,
      algorithms: ['EdDSA'],
      allowedIss: ISSUER,
      allowedAud: AUDIENCE,
      requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      ignoreExpiration: true,
      ignoreNotBefore: true,
      cache: VERIFIED_CACHE_SIZE,
      // fast-jwt's own key (a hash of the token): a custom one makes it warn at every start.
    }) as (token: string) => DeviceClaims;
  }

  static async open(secrets: ServerSecretRepository, lifetimeSeconds: number, now: Date): Promise<DeviceTokens> {
    const generated = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    // Insert-if-absent, then read: two processes starting at once agree on one key.
    const privatePem = await secrets.getOrCreate(SECRET_NAME, generated, now.toISOString());
    const publicPem = createPublicKey(createPrivateKey(privatePem)).export({ type: 'spki', format: 'pem' }).toString();
    return new DeviceTokens(privatePem, publicPem, lifetimeSeconds);
  }

  /**
   * A token for the device; with `certificateThumbprint` (mutual TLS) it is bound to that client
   * certificate (RFC 8705 `cnf`), so a stolen token is useless without the device's TLS key too.
   */
  async issue(deviceId: string, now: Date, certificateThumbprint?: string): Promise<{ token: string; expiresAt: string }> {
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + this.lifetimeSeconds;
    const token = this.sign({
      sub: deviceId,
      jti: randomUUID(),
      iat,
      exp,
      ...(certificateThumbprint ? { cnf: { 'x5t#S256': certificateThumbprint } } : {}),
    });
    return { token, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /** The device a valid, unexpired token names, and the certificate it is bound to; SLW_DEVICE_TOKEN_INVALID otherwise. */
  async verify(token: string, now: Date): Promise<{ deviceId: string; certificateThumbprint?: string }> {
    let claims: DeviceClaims;
    try {
      claims = this.decodeVerified(token);
    } catch (err) {
      throw new SlipwayError('SLW_DEVICE_TOKEN_INVALID', 'the device token is invalid; authenticate again', { cause: err });
    }
    if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number' || claims.exp * 1000 <= now.getTime()) {
      throw new SlipwayError('SLW_DEVICE_TOKEN_INVALID', 'the device token has expired; authenticate again');
    }
    const bound = claims.cnf?.['x5t#S256'];
    return { deviceId: claims.sub, ...(typeof bound === 'string' ? { certificateThumbprint: bound } : {}) };
  }
}
