import { createHash, randomUUID } from 'node:crypto';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { openArtifactFile, SlipwayError } from '@slipway/core';
import type { ArtifactRepository, ArtifactRow } from '../repositories/artifact.repository.js';
import type { ArtifactStore } from '../storage/artifact-store.js';
import type { AuditLog } from './audit-log.service.js';
import type { TrustRootService } from './trust-root.service.js';
import type { RequestContext } from './user.service.js';

export interface ArtifactSummary {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly securityVersion: number;
  readonly deviceTypes: readonly string[];
  readonly payloadType: string;
  readonly payloads: readonly { name: string; compression: string; size: number; uncompressedSize: number; sha256: string }[];
  /** False only for an artifact accepted unsigned in development mode. */
  readonly signed: boolean;
  readonly signedBy: readonly string[];
  readonly rootVersion: number | null;
  readonly size: number;
  readonly sha256: string;
  readonly expiresAt: string | null;
  readonly uploadedAt: string;
  readonly uploadedBy: string;
}

export interface ArtifactSettings {
  readonly maxBytes: number;
  /** Development only: accept artifacts no trust root vouches for, flagged everywhere they appear. */
  readonly allowUnsigned: boolean;
}

function summary(row: ArtifactRow): ArtifactSummary {
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    securityVersion: row.securityVersion,
    payloadType: row.payloadType,
    deviceTypes: JSON.parse(row.deviceTypes),
    payloads: JSON.parse(row.payloads),
    signed: row.signed === 1,
    signedBy: JSON.parse(row.signedBy),
    rootVersion: row.rootVersion,
    size: Number(row.size),
    sha256: row.sha256,
    expiresAt: row.expiresAt,
    uploadedAt: row.uploadedAt,
    uploadedBy: row.uploadedBy,
  };
}

/** Counts and hashes the bytes going by, and stops them at the size limit. */
function meter(maxBytes: number) {
  const hash = createHash('sha256');
  let size = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > maxBytes)
        return done(new SlipwayError('SLW_ARTIFACT_TOO_LARGE', `the upload exceeds ${maxBytes} bytes (artifacts.maxBytes)`));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  return { transform, result: () => ({ size, sha256: hash.digest('hex') }) };
}

/**
 * Artifacts on the server. An upload streams to staging (never held in memory), is verified there
 * exactly as a device would verify it (the release signatures to threshold under the fleet's
 * current trust root, every payload's size and hash), and only then kept and recorded.
 */
export class ArtifactService {
  constructor(
    private readonly artifacts: ArtifactRepository,
    private readonly store: ArtifactStore,
    private readonly trustRoots: TrustRootService,
    private readonly audit: AuditLog,
    private readonly settings: ArtifactSettings,
    private readonly now: () => Date,
    /** Ids of the deployments still using an artifact (active, paused or halted): it cannot be deleted then. */
    private readonly liveDeploymentsUsing: (artifactId: string) => Promise<string[]> = async () => [],
  ) {}

  async upload(context: RequestContext, body: NodeJS.ReadableStream): Promise<ArtifactSummary> {
    const trust = await this.trustRoots.current();
    if (!trust && !this.settings.allowUnsigned) {
      throw new SlipwayError(
        'SLW_ARTIFACT_NO_TRUST_ROOT',
        'the server has no trust root yet: upload root.json first (slipway trust upload)',
      );
    }
    const staged = await this.store.stage();
    try {
      const metered = meter(this.settings.maxBytes);
      await pipeline(body, metered.transform, staged.sink);
      const { size, sha256 } = metered.result();
      const duplicate = await this.artifacts.bySha256(sha256);
      if (duplicate) {
        throw new SlipwayError(
          'SLW_ARTIFACT_DUPLICATE',
          `this artifact is stored already: ${duplicate.name} ${duplicate.version} (${duplicate.id})`,
        );
      }
      const reader = await openArtifactFile(staged.path, trust);
      await reader.verifyPayloads();
      const manifest = reader.manifest;
      if (!reader.verified && !this.settings.allowUnsigned) {
        throw new SlipwayError('SLW_ARTIFACT_SIGNATURE_INVALID', 'the artifact is not signed by a threshold of release keys');
      }
      if (await this.artifacts.byNameVersion(manifest.name, manifest.version)) {
        throw new SlipwayError('SLW_ARTIFACT_VERSION_EXISTS', `${manifest.name} ${manifest.version} is stored already with other content`);
      }
      const key = await staged.commit(sha256);
      const row: ArtifactRow = {
        id: randomUUID(),
        name: manifest.name,
        version: manifest.version,
        securityVersion: manifest.securityVersion,
        payloadType: manifest.payloadType,
        deviceTypes: JSON.stringify(manifest.deviceTypes),
        payloads: JSON.stringify(
          manifest.payloads.map((p) => ({
            name: p.name,
            compression: p.compression,
            size: p.size,
            uncompressedSize: p.uncompressedSize,
            sha256: p.sha256,
          })),
        ),
        signedBy: JSON.stringify(reader.signedBy),
        signed: reader.verified ? 1 : 0,
        rootVersion: reader.verified && trust ? trust.version : null,
        size,
        sha256,
        expiresAt: manifest.expiresAt ?? null,
        uploadedAt: this.now().toISOString(),
        uploadedBy: context.principal.id,
      };
      try {
        await this.artifacts.insert(row);
      } catch (err) {
        await this.store.remove(key);
        throw err;
      }
      await this.audit.appendFor(context, {
        action: 'artifact.upload',
        target: `${row.name} ${row.version}`,
        outcome: 'success',
        details: { id: row.id, sha256, size, signedBy: reader.signedBy, ...(row.signed ? {} : { unsigned: true, severity: 'warning' }) },
      });
      return summary(row);
    } finally {
      await staged.discard();
    }
  }

  async list(name?: string): Promise<ArtifactSummary[]> {
    return (await this.artifacts.list(name)).map(summary);
  }

  async show(id: string): Promise<ArtifactSummary> {
    return summary(await this.require(id));
  }

  async delete(context: RequestContext, id: string): Promise<void> {
    const row = await this.require(id);
    const users = await this.liveDeploymentsUsing(id);
    if (users.length > 0)
      throw new SlipwayError(
        'SLW_ARTIFACT_IN_USE',
        `${row.name} ${row.version} is used by deployment ${users[0]}${users.length > 1 ? ` and ${users.length - 1} more` : ''}; abort or finish it first`,
      );
    await this.artifacts.delete(id);
    await this.store.remove(`${row.sha256}.slw`);
    await this.audit.appendFor(context, {
      action: 'artifact.delete',
      target: `${row.name} ${row.version}`,
      outcome: 'success',
      details: { id, sha256: row.sha256 },
    });
  }

  /** The stored bytes of an artifact, for the device download route. */
  async file(id: string): Promise<{ size: number; sha256: string; read(range?: { start: number; end: number }): NodeJS.ReadableStream }> {
    const row = await this.require(id);
    const key = `${row.sha256}.slw`;
    return { size: Number(row.size), sha256: row.sha256, read: (range) => this.store.read(key, range) };
  }

  private async require(id: string): Promise<ArtifactRow> {
    const row = /^[0-9a-f-]{36}$/.test(id) ? await this.artifacts.byId(id) : undefined;
    if (!row) throw new SlipwayError('SLW_ARTIFACT_NOT_FOUND', `no artifact has the id ${id.slice(0, 64)}`);
    return row;
  }
}
