import { PAYLOAD_TYPE_ROOT } from '../crypto/pae.js';
import { SlipwayError } from '../errors/slipway-error.js';
import { type ParsedRoot, parseRoot } from './root.js';
import { type Role, validSigners } from './threshold.js';

/** A root that Slipway trusts: its signatures met its thresholds and it had not expired. */
export interface TrustedRoot extends ParsedRoot {
  readonly trusted: true;
  /** Root keys whose signatures counted. */
  readonly signedBy: readonly string[];
}

export interface RootCheckOptions {
  readonly now: Date;
  /** Only for showing a root to a human; never for deciding what to install. */
  readonly allowExpired?: boolean;
}

function meetsThreshold(root: ParsedRoot, role: Role, signer: ParsedRoot): Set<string> {
  return validSigners(root.keys, role, PAYLOAD_TYPE_ROOT, signer.envelope.payload, signer.envelope.signatures);
}

function checkExpiry(root: ParsedRoot, options: RootCheckOptions): void {
  if (!options.allowExpired && root.expiresMs <= options.now.getTime()) {
    throw new SlipwayError('SLW_TRUST_ROOT_EXPIRED', `root version ${root.version} expired at ${root.body.expires}`);
  }
}

function requireOwnThreshold(root: ParsedRoot): Set<string> {
  const signed = meetsThreshold(root, root.roles.root, root);
  if (signed.size < root.roles.root.threshold) {
    throw new SlipwayError(
      'SLW_TRUST_ROOT_THRESHOLD',
      `root version ${root.version} has ${signed.size} valid signature(s) by its root keys; it needs ${root.roles.root.threshold}`,
    );
  }
  return signed;
}

/**
 * Verifies a root taken as a trust anchor (e.g. baked into a golden image): well formed,
 * signed by a threshold of its own root keys, not expired.
 */
export function verifyRoot(root: ParsedRoot, options: RootCheckOptions): TrustedRoot {
  const signed = requireOwnThreshold(root);
  checkExpiry(root, options);
  return { ...root, trusted: true, signedBy: [...signed] };
}

/**
 * Verifies one rotation step N -> N+1 (TUF 5.3.4-5.3.5): the candidate must be version N+1 exactly
 * and signed by a threshold of the trusted root's keys and a threshold of its own root keys.
 * Expiry of intermediate roots does not matter (TUF 5.3.10); callers check the final one.
 */
export function verifyRootStep(trusted: ParsedRoot, candidate: ParsedRoot): Set<string> {
  if (candidate.version !== trusted.version + 1) {
    throw new SlipwayError(
      'SLW_TRUST_ROOT_VERSION',
      `root version ${candidate.version} cannot follow version ${trusted.version}; only version ${trusted.version + 1} can`,
    );
  }
  const byOld = meetsThreshold(trusted, trusted.roles.root, candidate);
  if (byOld.size < trusted.roles.root.threshold) {
    throw new SlipwayError(
      'SLW_TRUST_ROOT_OLD_THRESHOLD',
      `root version ${candidate.version} has ${byOld.size} valid signature(s) by the root keys of version ${trusted.version}; it needs ${trusted.roles.root.threshold}`,
    );
  }
  return requireOwnThreshold(candidate);
}

/** `trust verify new.json --previous old.json`: one rotation step, and the new root must be current. */
export function verifyRootRotation(previous: ParsedRoot, candidate: ParsedRoot, options: RootCheckOptions): TrustedRoot {
  const signed = verifyRootStep(previous, candidate);
  checkExpiry(candidate, options);
  return { ...candidate, trusted: true, signedBy: [...signed] };
}

/**
 * Walks a rotation chain from a trusted root through newer roots, one version at a time, never
 * skipping (fast-forward defence). The final root must not be expired (freeze attack defence).
 * On any failure the caller keeps its previously trusted root: nothing here mutates state.
 */
export function walkRootChain(trusted: TrustedRoot, newer: readonly Uint8Array[], options: RootCheckOptions): TrustedRoot {
  let current: ParsedRoot = trusted;
  let signedBy = trusted.signedBy;
  for (const bytes of newer) {
    const candidate = parseRoot(bytes);
    signedBy = [...verifyRootStep(current, candidate)];
    current = candidate;
  }
  checkExpiry(current, options);
  return { ...current, trusted: true, signedBy };
}
