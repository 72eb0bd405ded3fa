import { randomUUID, type X509Certificate } from 'node:crypto';
import {
  canonicalIdentity,
  type DeviceAuthRequest,
  type DeviceKeyRotationRequest,
  PAYLOAD_TYPE_DEVICE_AUTH,
  PAYLOAD_TYPE_DEVICE_KEY_ROTATION,
  type PublicKeyInfo,
  preAuthEncoding,
  SlipwayError,
  verifyRaw,
} from '@slipway/core';
import type { ServerConfig } from '../config/server-config.js';
import type { DeviceStatus } from '../db/schema.js';
import { type DeviceRepository, type DeviceRow, newDeviceRow } from '../repositories/device.repository.js';
import type { AuditLog } from './audit-log.service.js';
import { parseDeviceKey } from './device-key-policy.js';
import type { DeviceTokens } from './device-token.js';
import type { FailureLimiter } from './failure-limiter.js';
import { checkManufacturingCertificate } from './manufacturing-ca.js';

export interface DeviceAuthDependencies {
  readonly devices: DeviceRepository;
  readonly tokens: DeviceTokens;
  readonly audit: AuditLog;
  readonly config: ServerConfig['devices'];
  readonly manufacturingCas: readonly X509Certificate[];
  readonly byAddress: FailureLimiter;
  readonly byIdentity: FailureLimiter;
  readonly now: () => Date;
}

/** A verified TLS client certificate (mutual TLS) and its thumbprint. */
export interface TlsClientCertificate {
  readonly certificate: X509Certificate;
  readonly thumbprint: string;
}

export interface DeviceSession {
  readonly deviceId: string;
  readonly token: string;
  readonly expiresAt: string;
}

/** Outcomes that count against the caller's failure budget (pending is a normal wait, not a failure). */
const FAILURES = new Set([
  'SLW_DEVICE_AUTH_INVALID',
  'SLW_DEVICE_AUTH_STALE',
  'SLW_DEVICE_AUTH_REPLAY',
  'SLW_DEVICE_KEY_REFUSED',
  'SLW_DEVICE_IDENTITY_INVALID',
  'SLW_DEVICE_REJECTED',
  'SLW_DEVICE_KEY_IN_USE',
  'SLW_DEVICE_CERTIFICATE_INVALID',
]);

const BASE64 = /^[A-Za-z0-9+/]{1,1400}={0,2}$/;

/**
 * Device authentication: a request signed by the device key, fresh and never seen before, for an
 * identity the server has admitted. Cheap refusals come first (the failure budget of the address,
 * then of the identity, then the clock), the signature next, and only then the database.
 */
export class DeviceAuthService {
  private lastNoncePrune = 0;

  constructor(private readonly deps: DeviceAuthDependencies) {}

  /** Milliseconds the address must wait before it may try again (checked before parsing anything). */
  blockedForMs(sourceIp: string): number {
    return this.deps.byAddress.blockedForMs(sourceIp);
  }

  async authenticate(
    raw: Buffer,
    request: DeviceAuthRequest,
    signature: string | undefined,
    sourceIp: string,
    tlsCertificate?: TlsClientCertificate,
  ): Promise<DeviceSession> {
    let identityKey: string | undefined;
    try {
      identityKey = canonicalIdentity(request.identity, this.deps.config.identityAttributes);
      const wait = this.deps.byIdentity.blockedForMs(identityKey);
      if (wait > 0) throw rateLimited(wait);
      return await this.verifiedAuthenticate(raw, request, identityKey, signature, sourceIp, tlsCertificate);
    } catch (err) {
      if (err instanceof SlipwayError && FAILURES.has(err.code)) {
        this.deps.byAddress.fail(sourceIp);
        if (identityKey) this.deps.byIdentity.fail(identityKey);
      }
      throw err;
    }
  }

  private async verifiedAuthenticate(
    raw: Buffer,
    request: DeviceAuthRequest,
    identityKey: string,
    signature: string | undefined,
    sourceIp: string,
    tlsCertificate: TlsClientCertificate | undefined,
  ): Promise<DeviceSession> {
    const { config, devices } = this.deps;
    const now = this.deps.now();
    this.checkClock(request.timestamp, now);
    const key = parseDeviceKey(request.publicKey, config);
    if (!verifies(key, preAuthEncoding(PAYLOAD_TYPE_DEVICE_AUTH, raw), signature)) {
      throw new SlipwayError('SLW_DEVICE_AUTH_INVALID', 'the request signature does not verify with the given key');
    }
    if (tlsCertificate && !tlsCertificate.certificate.publicKey.equals(key.key)) {
      throw new SlipwayError('SLW_DEVICE_CERTIFICATE_INVALID', 'the client certificate is for another key than the one authenticating');
    }
    await this.claimNonce(request.nonce, request.timestamp, now);
    // A TLS client certificate can serve as the manufacturing certificate too.
    const certificate = request.certificate ?? tlsCertificate?.certificate.toString();
    const bound = tlsCertificate?.thumbprint;
    const device = await devices.findByIdentity(identityKey);
    if (!device) return this.firstContact(request, certificate, identityKey, key, sourceIp, now, bound);
    const keys = await devices.keysOf(device.id);
    const known = keys.find((k) => k.keyId === key.keyId);
    if (device.status === 'decommissioned') return this.readmission(device, key, sourceIp, now);
    if (!known) {
      await this.event(device.id, sourceIp, key.keyId, 'denied', 'unknown key for this identity', now);
      await this.deps.audit.append({
        actorType: 'device',
        actorId: device.id,
        sourceIp,
        action: 'device.unknown-key',
        target: device.id,
        outcome: 'denied',
        details: { keyId: key.keyId, severity: 'warning' },
      });
      throw new SlipwayError('SLW_DEVICE_AUTH_INVALID', 'this identity is registered with another key');
    }
    switch (device.status) {
      case 'rejected':
        await this.event(device.id, sourceIp, key.keyId, 'denied', 'rejected', now);
        throw new SlipwayError('SLW_DEVICE_REJECTED', 'this device was rejected');
      case 'pending':
        await this.event(device.id, sourceIp, key.keyId, 'pending', null, now);
        throw this.pending();
      case 'preauthorized':
        await this.admit(device, ['preauthorized'], 'preauthorized', sourceIp, now);
        return this.issue(device.id, key, known.state, sourceIp, now, bound);
      case 'accepted':
        return this.issue(device.id, key, known.state, sourceIp, now, bound);
    }
  }

  /** An identity never seen: admitted at once with a manufacturing certificate, else pending. */
  private async firstContact(
    request: DeviceAuthRequest,
    certificate: string | undefined,
    identityKey: string,
    key: PublicKeyInfo,
    sourceIp: string,
    now: Date,
    bound: string | undefined,
  ) {
    const { devices, config } = this.deps;
    const owner = await devices.keyOwner(key.keyId);
    if (owner) throw new SlipwayError('SLW_DEVICE_KEY_IN_USE', 'this key belongs to another device');
    const certified =
      certificate !== undefined && this.deps.manufacturingCas.length > 0
        ? checkManufacturingCertificate(certificate, this.deps.manufacturingCas, key, request.identity, now)
        : undefined;
    if (!certified?.ok && (await devices.countByStatus('pending')) >= config.maxPending) {
      await this.deps.audit.append({
        actorType: 'system',
        sourceIp,
        action: 'device.admission-full',
        target: identityKey,
        outcome: 'denied',
        details: { maxPending: config.maxPending, severity: 'warning' },
      });
      throw new SlipwayError('SLW_DEVICE_ADMISSION_FULL', 'too many devices wait for admission; try later', {
        details: { retryAfterSeconds: config.pendingRetrySeconds },
      });
    }
    const at = now.toISOString();
    const id = randomUUID();
    const status: DeviceStatus = certified?.ok ? 'accepted' : 'pending';
    const statusBy = certified?.ok ? 'manufacturing-ca' : 'device';
    await devices.transaction(async (tx) => {
      await tx.insert(newDeviceRow(id, identityKey, status, statusBy, at), request.identity, [
        { keyId: key.keyId, deviceId: id, publicKey: key.pem, state: 'active', createdAt: at },
      ]);
    });
    await this.deps.audit.append({
      actorType: certified?.ok ? 'system' : 'device',
      actorId: certified?.ok ? 'manufacturing-ca' : id,
      sourceIp,
      action: certified?.ok ? 'device.accept' : 'device.register',
      target: id,
      outcome: 'success',
      details: { identity: request.identity, keyId: key.keyId, ...(certified && !certified.ok ? { certificate: certified.reason } : {}) },
    });
    if (status === 'accepted') return this.issue(id, key, 'active', sourceIp, now, bound);
    await this.event(
      id,
      sourceIp,
      key.keyId,
      'pending',
      certified && !certified.ok ? `certificate refused: ${certified.reason}` : null,
      now,
    );
    throw this.pending();
  }

  /** A decommissioned device that comes back waits for admission anew, with the key it now presents. */
  private async readmission(device: DeviceRow, key: PublicKeyInfo, sourceIp: string, now: Date): Promise<never> {
    const { devices } = this.deps;
    const owner = await devices.keyOwner(key.keyId);
    if (owner && owner !== device.id) throw new SlipwayError('SLW_DEVICE_KEY_IN_USE', 'this key belongs to another device');
    const at = now.toISOString();
    await devices.transaction(async (tx) => {
      if (!(await tx.transition(device.id, ['decommissioned'], 'pending', 'device', at))) return;
      await tx.replaceKeys(device.id, [{ keyId: key.keyId, deviceId: device.id, publicKey: key.pem, state: 'active', createdAt: at }]);
    });
    await this.deps.audit.append({
      actorType: 'device',
      actorId: device.id,
      sourceIp,
      action: 'device.register',
      target: device.id,
      outcome: 'success',
      details: { keyId: key.keyId, readmission: true },
    });
    await this.event(device.id, sourceIp, key.keyId, 'pending', 'decommissioned device asks to be admitted anew', now);
    throw this.pending();
  }

  /**
   * Step one of a key rotation: an accepted device proposes a new key, signed by its current key
   * and by the new one. The server then holds both; the first authentication with the new key
   * (step two) drops the old. Proposing the same key again is harmless (a lost answer, retried).
   */
  async proposeKey(
    deviceId: string,
    raw: Buffer,
    request: DeviceKeyRotationRequest,
    signatures: { current: string | undefined; proposed: string | undefined },
    sourceIp: string,
  ): Promise<{ keyId: string }> {
    const { config, devices } = this.deps;
    const now = this.deps.now();
    this.checkClock(request.timestamp, now);
    const next = parseDeviceKey(request.newPublicKey, config);
    const signed = preAuthEncoding(PAYLOAD_TYPE_DEVICE_KEY_ROTATION, raw);
    const keys = await devices.keysOf(deviceId);
    const current = keys
      .filter((k) => k.state === 'active')
      .find((k) => verifies(parseDeviceKey(k.publicKey, config), signed, signatures.current));
    if (!current || !verifies(next, signed, signatures.proposed)) {
      throw new SlipwayError('SLW_DEVICE_AUTH_INVALID', 'a key rotation must be signed by the current key and by the proposed key');
    }
    await this.claimNonce(request.nonce, request.timestamp, now);
    const existing = keys.find((k) => k.keyId === next.keyId);
    if (existing) return { keyId: next.keyId };
    const owner = await devices.keyOwner(next.keyId);
    if (owner) throw new SlipwayError('SLW_DEVICE_KEY_IN_USE', 'this key belongs to another device');
    const at = now.toISOString();
    await devices.transaction(async (tx) => {
      // A newer proposal replaces an older one that never completed.
      await tx.dropKeys(deviceId, 'next');
      await tx.addKey({ keyId: next.keyId, deviceId, publicKey: next.pem, state: 'next', createdAt: at });
    });
    await this.deps.audit.append({
      actorType: 'device',
      actorId: deviceId,
      sourceIp,
      action: 'device.key-proposed',
      target: deviceId,
      outcome: 'success',
      details: { keyId: next.keyId, currentKeyId: current.keyId },
    });
    await this.event(deviceId, sourceIp, next.keyId, 'key-proposed', null, now);
    return { keyId: next.keyId };
  }

  private checkClock(timestamp: string, now: Date): void {
    const sentAt = Date.parse(timestamp);
    const skew = this.deps.config.maxClockSkewSeconds;
    if (!Number.isFinite(sentAt) || Math.abs(now.getTime() - sentAt) > skew * 1000) {
      throw new SlipwayError('SLW_DEVICE_AUTH_STALE', `the request timestamp is more than ${skew} s from the server clock`);
    }
  }

  /** Nonces are kept twice the skew window: a replay older than that is already refused as stale. */
  private nonceExpiry(timestamp: string): string {
    return new Date(Date.parse(timestamp) + 2 * this.deps.config.maxClockSkewSeconds * 1000).toISOString();
  }

  /** Claims a nonce; once a minute also forgets expired ones, so the table holds about one window. */
  private async claimNonce(nonce: string, timestamp: string, now: Date): Promise<void> {
    if (now.getTime() - this.lastNoncePrune > 60_000) {
      this.lastNoncePrune = now.getTime();
      await this.deps.devices.forgetNoncesBefore(now.toISOString());
    }
    if (!(await this.deps.devices.claimNonce(nonce, this.nonceExpiry(timestamp)))) {
      throw new SlipwayError('SLW_DEVICE_AUTH_REPLAY', 'this request was seen before (nonce reused)');
    }
  }

  private async admit(device: DeviceRow, from: DeviceStatus[], by: string, sourceIp: string, now: Date): Promise<void> {
    if (!(await this.deps.devices.transition(device.id, from, 'accepted', by, now.toISOString()))) return;
    await this.deps.audit.append({
      actorType: 'system',
      actorId: by,
      sourceIp,
      action: 'device.accept',
      target: device.id,
      outcome: 'success',
    });
  }

  /** Issues a token; authenticating with a rotation's new key completes the rotation. */
  private async issue(
    deviceId: string,
    key: PublicKeyInfo,
    keyState: string,
    sourceIp: string,
    now: Date,
    certificateThumbprint: string | undefined,
  ): Promise<DeviceSession> {
    const { devices } = this.deps;
    if (keyState === 'next') {
      await devices.transaction((tx) => tx.keepOnlyKey(deviceId, key.keyId));
      await this.deps.audit.append({
        actorType: 'device',
        actorId: deviceId,
        sourceIp,
        action: 'device.key-rotated',
        target: deviceId,
        outcome: 'success',
        details: { keyId: key.keyId },
      });
    }
    await devices.markAuthenticated(deviceId, now.toISOString());
    await this.event(deviceId, sourceIp, key.keyId, 'accepted', null, now);
    const { token, expiresAt } = await this.deps.tokens.issue(deviceId, now, certificateThumbprint);
    return { deviceId, token, expiresAt };
  }

  private pending(): SlipwayError {
    const retry = this.deps.config.pendingRetrySeconds;
    return new SlipwayError('SLW_DEVICE_PENDING', `this device waits for admission; ask again in ${retry} s`, {
      details: { retryAfterSeconds: retry },
    });
  }

  private async event(deviceId: string, sourceIp: string, keyId: string | null, outcome: string, reason: string | null, now: Date) {
    await this.deps.devices.recordAuthEvent({ id: randomUUID(), deviceId, at: now.toISOString(), sourceIp, keyId, outcome, reason });
  }
}

function verifies(key: PublicKeyInfo, signed: Buffer, signature: string | undefined): boolean {
  return signature !== undefined && BASE64.test(signature) && verifyRaw(key, signed, Buffer.from(signature, 'base64'));
}

export function rateLimited(waitMs: number): SlipwayError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new SlipwayError('SLW_DEVICE_RATE_LIMITED', `too many failed device requests; retry in ${seconds} s`, {
    details: { retryAfterSeconds: seconds },
  });
}
