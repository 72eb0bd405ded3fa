import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SlipwayError } from '@slipway/core';
import type { ServerSecretRepository } from '../repositories/server-secret.repository.js';

const SECRET_NAME = 'download-url-key';
export const DOWNLOAD_URL_LIFETIME_SECONDS = 3600;

interface Grant {
  /** Artifact id. */
  readonly a: string;
  /** Device id. */
  readonly d: string;
  /** Expiry, Unix seconds. */
  readonly e: number;
  /** The deployment it was offered for: an aborted deployment stops its downloads at once. */
  readonly p?: string;
}

export interface DownloadGrant {
  readonly artifactId: string;
  readonly deploymentId: string | undefined;
}

/**
 * Download URLs for one artifact, one device, a short while: the grant is in the URL, HMAC-signed
 * with a key in the database (shared by every server process). The route also requires the
 * device's own token and checks the grant names that device, so a leaked URL is useless to
 * anyone else; an S3 store would hand out its own pre-signed URL in the same place.
 */
export class DownloadUrls {
  private constructor(private readonly key: Buffer) {}

  static async open(secrets: ServerSecretRepository, now: Date): Promise<DownloadUrls> {
    const stored = await secrets.getOrCreate(SECRET_NAME, randomBytes(32).toString('base64url'), now.toISOString());
    return new DownloadUrls(Buffer.from(stored, 'base64url'));
  }

  grant(
    artifactId: string,
    deviceId: string,
    now: Date,
    deploymentId?: string,
    lifetimeSeconds = DOWNLOAD_URL_LIFETIME_SECONDS,
  ): { token: string; expiresAt: string } {
    const e = Math.floor(now.getTime() / 1000) + lifetimeSeconds;
    const grant: Grant = deploymentId ? { a: artifactId, d: deviceId, e, p: deploymentId } : { a: artifactId, d: deviceId, e };
    const body = Buffer.from(JSON.stringify(grant)).toString('base64url');
    return { token: `${body}.${this.mac(body)}`, expiresAt: new Date(e * 1000).toISOString() };
  }

  /** The artifact (and deployment) a grant allows this device to fetch now; SLW_DOWNLOAD_DENIED otherwise. */
  check(token: string, deviceId: string, now: Date): DownloadGrant {
    const [body, mac] = token.split('.');
    const expected = body ? this.mac(body) : '';
    if (!body || !mac || mac.length !== expected.length || !timingSafeEqual(Buffer.from(mac), Buffer.from(expected))) {
      throw new SlipwayError('SLW_DOWNLOAD_DENIED', 'this download link is not valid');
    }
    const grant = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Grant;
    if (grant.d !== deviceId) throw new SlipwayError('SLW_DOWNLOAD_DENIED', 'this download link was issued to another device');
    if (grant.e * 1000 <= now.getTime())
      throw new SlipwayError('SLW_DOWNLOAD_DENIED', 'this download link has expired; ask for the deployment again');
    return { artifactId: grant.a, deploymentId: grant.p };
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
