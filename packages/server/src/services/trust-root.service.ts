import { type ParsedRoot, parseRoot, SlipwayError, type TrustedRoot, verifyRoot, verifyRootRotation } from '@slipway/core';
import type { TrustRootRepository } from '../repositories/trust-root.repository.js';
import type { AuditLog } from './audit-log.service.js';
import type { RequestContext } from './user.service.js';

export interface TrustRootSummary {
  readonly version: number;
  readonly expiresAt: string;
  readonly rootKeys: readonly string[];
  readonly rootThreshold: number;
  readonly releaseKeys: readonly string[];
  readonly releaseThreshold: number;
  readonly uploadedAt: string;
  readonly uploadedBy: string;
}

function summary(root: ParsedRoot, uploadedAt: string, uploadedBy: string): TrustRootSummary {
  return {
    version: root.version,
    expiresAt: root.body.expires,
    rootKeys: [...root.roles.root.keyIds],
    rootThreshold: root.roles.root.threshold,
    releaseKeys: [...root.roles.release.keyIds],
    releaseThreshold: root.roles.release.threshold,
    uploadedAt,
    uploadedBy,
  };
}

/**
 * The fleet's trust roots on the server. The first one uploaded must verify on its own (a
 * threshold of its root keys, not expired); each later one must be the next version, signed by a
 * threshold of the previous root's keys and of its own, exactly what a device checks when it walks
 * the chain. The server holds no private key: it only stores and serves what release managers sign.
 */
export class TrustRootService {
  constructor(
    private readonly roots: TrustRootRepository,
    private readonly audit: AuditLog,
    private readonly now: () => Date,
  ) {}

  async upload(context: RequestContext, document: Buffer): Promise<TrustRootSummary> {
    const candidate = parseRoot(document);
    const now = this.now();
    const latest = await this.roots.latest();
    const existing = await this.roots.byVersion(candidate.version);
    if (existing) {
      if (existing.document === document.toString('utf8')) return summary(candidate, existing.uploadedAt, existing.uploadedBy);
      throw new SlipwayError('SLW_TRUST_ROOT_VERSION', `root version ${candidate.version} is stored already, with other content`);
    }
    if (latest) verifyRootRotation(parseRoot(Buffer.from(latest.document)), candidate, { now });
    else verifyRoot(candidate, { now });
    const at = now.toISOString();
    const stored = await this.roots.insert({
      version: candidate.version,
      document: document.toString('utf8'),
      expiresAt: candidate.body.expires,
      uploadedAt: at,
      uploadedBy: context.principal.id,
    });
    if (!stored)
      throw new SlipwayError('SLW_TRUST_ROOT_VERSION', `root version ${candidate.version} was stored by another upload just now`);
    await this.audit.appendFor(context, {
      action: 'trust.root-upload',
      target: `root v${candidate.version}`,
      outcome: 'success',
      details: { version: candidate.version, expires: candidate.body.expires, severity: latest ? 'warning' : 'info' },
    });
    return summary(candidate, at, context.principal.id);
  }

  async list(): Promise<TrustRootSummary[]> {
    return (await this.roots.list()).map((row) => summary(parseRoot(Buffer.from(row.document)), row.uploadedAt, row.uploadedBy));
  }

  /** The stored root.json of one version, as uploaded. */
  async document(version: number): Promise<string> {
    const row = await this.roots.byVersion(version);
    if (!row) throw new SlipwayError('SLW_TRUST_ROOT_NOT_FOUND', `no trust root version ${version} is stored`);
    return row.document;
  }

  /** The newest root, verified as a chain from the first stored one: what artifacts are checked against. */
  async current(): Promise<TrustedRoot | null> {
    const latest = await this.roots.latest();
    if (!latest) return null;
    // Each stored root was verified against its predecessor on upload; the newest must still be
    // current, or devices would refuse everything signed under it (SLW_TRUST_ROOT_EXPIRED).
    return verifyRoot(parseRoot(Buffer.from(latest.document)), { now: this.now() });
  }
}
