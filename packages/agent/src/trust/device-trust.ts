import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ArtifactReader,
  assertInstallable,
  type ChunkSource,
  parseRoot,
  SlipwayError,
  type TrustedRoot,
  verifyRoot,
  verifyRootStep,
} from '@slipway/core';
import { writeFileAtomic } from '../state/atomic-file.js';

/** What the device runs now, as far as updates are concerned. */
export interface InstalledRelease {
  readonly name: string;
  readonly version: string;
  readonly securityVersion: number;
  readonly installedAt: string;
}

/** What a server offered: the artifact must be exactly this one. */
export interface ExpectedArtifact {
  readonly name: string;
  readonly version: string;
  readonly securityVersion: number | null;
}

/** The most roots a device follows in one go (a chain longer than this waits for the next check). */
const MAX_ROTATIONS_PER_CHECK = 32;

/**
 * The device's trust: the root it trusts (first the one baked into the golden image, later the
 * newest of a verified rotation chain) and the release it runs, with its security version for
 * anti-rollback. Both live in the state directory and are replaced atomically; the golden root is
 * only read. Nothing the server says is believed without the signatures checking out here.
 */
export class DeviceTrust {
  private readonly rootFile: string;
  private readonly installedFile: string;

  constructor(
    stateDir: string,
    /** root.json from the golden image: the anchor when no rotation has been followed yet. */
    private readonly goldenRoot: string,
  ) {
    this.rootFile = join(stateDir, 'root.json');
    this.installedFile = join(stateDir, 'installed.json');
  }

  /** The trusted root: verified on its own (threshold of its root keys); expiry is checked where it matters. */
  async root(): Promise<TrustedRoot> {
    const bytes = (await readIfPresent(this.rootFile)) ?? (await readIfPresent(this.goldenRoot));
    if (!bytes) throw new SlipwayError('SLW_IO_NOT_FOUND', `no trust root: ${this.goldenRoot} is missing`);
    return verifyRoot(parseRoot(bytes), { now: new Date(0), allowExpired: true });
  }

  /**
   * Follows a rotation chain: asks for version N+1, N+2 … (`fetch` returns null when there is no
   * newer one) and keeps the newest only if every step verifies (signed by the previous root keys
   * and its own) and it has not expired. On any failure the trusted root stays as it was.
   */
  async followRotations(fetch: (version: number) => Promise<Uint8Array | null>, now: Date): Promise<TrustedRoot> {
    const trusted = await this.root();
    let current = trusted as TrustedRoot;
    let newest: Uint8Array | null = null;
    for (let i = 0; i < MAX_ROTATIONS_PER_CHECK; i++) {
      const bytes = await fetch(current.version + 1);
      if (bytes === null) break;
      const candidate = parseRoot(bytes);
      const signedBy = verifyRootStep(current, candidate);
      current = { ...candidate, trusted: true, signedBy: [...signedBy] };
      newest = bytes;
    }
    if (newest === null) return trusted;
    if (current.expiresMs <= now.getTime())
      throw new SlipwayError('SLW_TRUST_ROOT_EXPIRED', `root version ${current.version} expired at ${current.body.expires}`);
    await writeFileAtomic(this.rootFile, newest);
    return current;
  }

  async installed(): Promise<InstalledRelease | null> {
    const bytes = await readIfPresent(this.installedFile);
    return bytes ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as InstalledRelease) : null;
  }

  /** Records a committed release; the security version never goes down (anti-rollback). */
  async recordInstalled(release: InstalledRelease): Promise<void> {
    const before = await this.installed();
    const securityVersion = Math.max(release.securityVersion, before?.securityVersion ?? 0);
    await writeFileAtomic(this.installedFile, `${JSON.stringify({ ...release, securityVersion }, null, 2)}\n`);
  }

  /**
   * Opens an artifact stream and decides before any payload byte is read: release signatures to
   * threshold under the trusted root (which must not have expired), the device type, the expiry,
   * the security version not below the installed one, and, for a deployment, that it is the
   * artifact the server offered. The reader then hashes every payload as it flows.
   */
  async openVerified(
    source: ChunkSource,
    device: { readonly deviceType: string; readonly now: Date },
    expected?: ExpectedArtifact,
  ): Promise<ArtifactReader> {
    const root = await this.root();
    if (root.expiresMs <= device.now.getTime()) {
      await source.close();
      throw new SlipwayError('SLW_TRUST_ROOT_EXPIRED', `the trusted root version ${root.version} expired at ${root.body.expires}`);
    }
    const reader = await ArtifactReader.open(source, { trust: root });
    try {
      const m = reader.manifest;
      if (
        expected &&
        (m.name !== expected.name ||
          m.version !== expected.version ||
          (expected.securityVersion !== null && m.securityVersion !== expected.securityVersion))
      )
        throw new SlipwayError(
          'SLW_ARTIFACT_MISMATCH',
          `the deployment offered ${expected.name} ${expected.version}, but the artifact is ${m.name} ${m.version} (security version ${m.securityVersion})`,
        );
      const installed = await this.installed();
      assertInstallable(m, { deviceType: device.deviceType, installedSecurityVersion: installed?.securityVersion ?? 0, now: device.now });
    } catch (err) {
      await source.close();
      throw err;
    }
    return reader;
  }
}

async function readIfPresent(path: string): Promise<Uint8Array | null> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new SlipwayError('SLW_IO_FAILED', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}
