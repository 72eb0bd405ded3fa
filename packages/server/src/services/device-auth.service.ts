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
import { type DeviceRepository, newDeviceRow } from '../repositories/device.repository.js';
import type { AuditEvent, AuditLog } from './audit-log.service.js';
import { parseDeviceKey } from './device-key-policy.js';
import type { DeviceTokens } from './device-token.js';
import type { FailureLimiter } from './failure-limiter.js';
import { type CertificateCheck, checkManufacturingCertificate } from './manufacturing-ca.js';

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

/** One authentication attempt whose signature has verified. */
interface Attempt {
  readonly request: DeviceAuthRequest;
  readonly identityKey: string;
  readonly key: PublicKeyInfo;
  readonly certified: CertificateCheck | undefined;
  readonly sourceIp: string;
  readonly at: string;
}

type AuditNote = Omit<AuditEvent, 'sourceIp'>;

/** The outcome of an attempt: the device, what to audit, and the refusal if it gets no token. */
interface Decision {
  readonly deviceId: string;
  readonly audit: readonly AuditNote[];
  readonly refusal?: SlipwayError;
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
  private lastPrune = 0;

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
    const { config } = this.deps;
    const now = this.deps.now();
    this.checkClock(request.timestamp, now);
    const key = parseDeviceKey(request.publicKey, config);
    if (!verifies(key, preAuthEncoding(PAYLOAD_TYPE_DEVICE_AUTH, raw), signature)) {
      throw new SlipwayError('SLW_DEVICE_AUTH_INVALID', 'the request signature does not verify with the given key');
    }
    if (tlsCertificate && !tlsCertificate.certificate.publicKey.equals(key.key)) {
      throw new SlipwayError('SLW_DEVICE_CERTIFICATE_INVALID', 'the client certificate is for another key than the one authenticating');
    }
    // A TLS client certificate can serve as the manufacturing certificate too.
    const certificate = request.certificate ?? tlsCertificate?.certificate.toString();
    const certified =
      certificate !== undefined && this.deps.manufacturingCas.length > 0
        ? checkManufacturingCertificate(certificate, this.deps.manufacturingCas, key, request.identity, now)
        : undefined;
    await this.pruneIfDue(now);
    // Every read and write of one authentication in one transaction: one commit (one fsync on
    // SQLite) instead of one per statement, and a consistent view of the device.
    const decision = await this.deps.devices.transaction((tx) =>
      this.decide(tx, { request, identityKey, key, certified, sourceIp, at: now.toISOString() }),
    );
    for (const event of decision.audit) await this.deps.audit.append({ sourceIp, ...event });
    if (decision.refusal) throw decision.refusal;
    const { token, expiresAt } = await this.deps.tokens.issue(decision.deviceId, now, tlsCertificate?.thumbprint);
    return { deviceId: decision.deviceId, token, expiresAt };
  }

  /**
   * What this authentication means for the device, decided and recorded inside the transaction:
   * the nonce is claimed, the device registered or moved, the attempt written to its history.
   * Audit entries and the answer follow once it has committed.
   */
  private async decide(tx: DeviceRepository, a: Attempt): Promise<Decision> {
    const { config } = this.deps;
    if (!(await tx.claimNonce(a.request.nonce, this.nonceExpiry(a.request.timestamp)))) {
      throw new SlipwayError('SLW_DEVICE_AUTH_REPLAY', 'this request was seen before (nonce reused)');
    }
    const keyRow = (deviceId: string) => ({
      keyId: a.key.keyId,
      deviceId,
      publicKey: a.key.pem,
      state: 'active' as const,
      createdAt: a.at,
    });
    const history = (deviceId: string, outcome: string, reason: string | null) =>
      tx.recordAuthEvent({ id: randomUUID(), deviceId, at: a.at, sourceIp: a.sourceIp, keyId: a.key.keyId, outcome, reason });
    const device = await tx.findByIdentity(a.identityKey);

    if (!device || device.status === 'decommissioned') {
      const owner = await tx.keyOwner(a.key.keyId);
      if (owner && owner !== device?.id) throw new SlipwayError('SLW_DEVICE_KEY_IN_USE', 'this key belongs to another device');
      // A certificate admits a new identity only: a decommissioned device (stolen, say) still holds
      // its key and its valid factory certificate, and they must not undo an operator's decision.
      const admitted = a.certified?.ok === true && !device;
      if (!admitted && (await tx.countByStatus('pending')) >= config.maxPending) {
        return {
          deviceId: device?.id ?? '',
          audit: [
            {
              actorType: 'system',
              action: 'device.admission-full',
              target: a.identityKey,
              outcome: 'denied',
              details: { maxPending: config.maxPending, severity: 'warning' },
            },
          ],
          refusal: new SlipwayError('SLW_DEVICE_ADMISSION_FULL', 'too many devices wait for admission; try later', {
            details: { retryAfterSeconds: config.pendingRetrySeconds },
          }),
        };
      }
      const status: DeviceStatus = admitted ? 'accepted' : 'pending';
      const by = admitted ? 'manufacturing-ca' : 'device';
      const id = device?.id ?? randomUUID();
      if (device) {
        // A decommissioned device that comes back waits for admission anew, with the key it presents now.
        await tx.transition(id, ['decommissioned'], status, by, a.at);
        await tx.replaceKeys(id, [keyRow(id)]);
      } else {
        await tx.insert(newDeviceRow(id, a.identityKey, status, by, a.at), a.request.identity, [keyRow(id)]);
      }
      const certificateNote = a.certified && !a.certified.ok ? `certificate refused: ${a.certified.reason}` : null;
      const audit: AuditNote[] = [
        {
          actorType: 'device',
          actorId: id,
          action: 'device.register',
          target: id,
          outcome: 'success',
          details: {
            identity: a.request.identity,
            keyId: a.key.keyId,
            ...(device ? { readmission: true } : {}),
            ...(certificateNote ? { certificate: certificateNote } : {}),
          },
        },
      ];
      if (admitted) {
        audit.push({ actorType: 'system', actorId: 'manufacturing-ca', action: 'device.accept', target: id, outcome: 'success' });
        await this.accepted(tx, id, 'active', a);
        await history(id, 'accepted', null);
        return { deviceId: id, audit };
      }
      await history(id, 'pending', certificateNote ?? (device ? 'decommissioned device asks to be admitted anew' : null));
      return { deviceId: id, audit, refusal: this.pending() };
    }

    const known = (await tx.keysOf(device.id)).find((k) => k.keyId === a.key.keyId);
    if (!known) {
      await history(device.id, 'denied', 'unknown key for this identity');
      return {
        deviceId: device.id,
        audit: [
          {
            actorType: 'device',
            actorId: device.id,
            action: 'device.unknown-key',
            target: device.id,
            outcome: 'denied',
            details: { keyId: a.key.keyId, severity: 'warning' },
          },
        ],
        refusal: new SlipwayError('SLW_DEVICE_AUTH_INVALID', 'this identity is registered with another key'),
      };
    }
    switch (device.status) {
      case 'rejected':
        await history(device.id, 'denied', 'rejected');
        return { deviceId: device.id, audit: [], refusal: new SlipwayError('SLW_DEVICE_REJECTED', 'this device was rejected') };
      case 'pending':
        await history(device.id, 'pending', null);
        return { deviceId: device.id, audit: [], refusal: this.pending() };
      case 'preauthorized':
      case 'accepted': {
        const audit: AuditNote[] = [];
        if (device.status === 'preauthorized' && (await tx.transition(device.id, ['preauthorized'], 'accepted', 'preauthorized', a.at))) {
          audit.push({ actorType: 'system', actorId: 'preauthorized', action: 'device.accept', target: device.id, outcome: 'success' });
        }
        if (known.state === 'next') {
          audit.push({
            actorType: 'device',
            actorId: device.id,
            action: 'device.key-rotated',
            target: device.id,
            outcome: 'success',
            details: { keyId: a.key.keyId },
          });
        }
        await this.accepted(tx, device.id, known.state, a);
        await history(device.id, 'accepted', null);
        return { deviceId: device.id, audit };
      }
    }
  }

  /** An accepted authentication: completes a key rotation when it used the new key, and notes the time. */
  private async accepted(tx: DeviceRepository, deviceId: string, keyState: string, a: Attempt): Promise<void> {
    if (keyState === 'next') await tx.keepOnlyKey(deviceId, a.key.keyId);
    await tx.markAuthenticated(deviceId, a.at);
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
    await this.claimNonce(request.nonce, request.timestamp);
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

  /**
   * Once a minute: forget nonces past their window (the table holds about one window of requests)
   * and authentication history older than devices.authHistoryDays (it would otherwise grow by
   * every device's every authentication).
   */
  private async pruneIfDue(now: Date): Promise<void> {
    if (now.getTime() - this.lastPrune < 60_000) return;
    this.lastPrune = now.getTime();
    await this.deps.devices.forgetNoncesBefore(now.toISOString());
    await this.deps.devices.forgetAuthEventsBefore(new Date(now.getTime() - this.deps.config.authHistoryDays * 86_400_000).toISOString());
  }

  private async claimNonce(nonce: string, timestamp: string): Promise<void> {
    if (!(await this.deps.devices.claimNonce(nonce, this.nonceExpiry(timestamp)))) {
      throw new SlipwayError('SLW_DEVICE_AUTH_REPLAY', 'this request was seen before (nonce reused)');
    }
  }

  private pending(): SlipwayError {
    const retry = this.deps.config.pendingRetrySeconds;
    return new SlipwayError('SLW_DEVICE_PENDING', 'this device waits for an operator to admit it', {
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
