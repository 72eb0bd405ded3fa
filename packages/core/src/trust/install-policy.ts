import { SlipwayError } from '../errors/slipway-error.js';
import { timestampToMs } from '../schema/formats.js';

/** The facts about an artifact that decide whether a device may install it. */
export interface InstallCandidate {
  readonly name: string;
  readonly version: string;
  readonly securityVersion: number;
  readonly deviceTypes: readonly string[];
  readonly expiresAt?: string | undefined;
}

export interface DeviceFacts {
  /** The device's own type; undefined skips the compatibility check (e.g. `artifact verify`). */
  readonly deviceType?: string | undefined;
  /** The security version installed now; undefined skips the rollback check. */
  readonly installedSecurityVersion?: number | undefined;
  /** A time the device trusts (RTC sanity-checked, or the server's signed time). */
  readonly now: Date;
}

export type InstallVerdict = { readonly ok: true } | { readonly ok: false; readonly error: SlipwayError };

/**
 * Pure: decides whether a verified artifact may be installed on this device now.
 * Equal security versions are allowed (re-installing or a same-level fix); lower ones are not.
 */
export function checkInstallPolicy(candidate: InstallCandidate, device: DeviceFacts): InstallVerdict {
  if (device.deviceType !== undefined && !candidate.deviceTypes.includes(device.deviceType)) {
    return refuse(
      new SlipwayError(
        'SLW_ARTIFACT_DEVICE_TYPE',
        `${candidate.name} ${candidate.version} is for ${candidate.deviceTypes.join(', ')}, not for ${device.deviceType}`,
      ),
    );
  }
  if (device.installedSecurityVersion !== undefined && candidate.securityVersion < device.installedSecurityVersion) {
    return refuse(
      new SlipwayError(
        'SLW_ARTIFACT_ROLLBACK',
        `${candidate.name} ${candidate.version} has security version ${candidate.securityVersion}, below the installed ${device.installedSecurityVersion}`,
      ),
    );
  }
  if (candidate.expiresAt !== undefined) {
    const expires = timestampToMs(candidate.expiresAt);
    if (Number.isNaN(expires) || expires <= device.now.getTime()) {
      return refuse(new SlipwayError('SLW_ARTIFACT_EXPIRED', `${candidate.name} ${candidate.version} expired at ${candidate.expiresAt}`));
    }
  }
  return { ok: true };
}

function refuse(error: SlipwayError): InstallVerdict {
  return { ok: false, error };
}

/** Throwing form for callers that stop at the first refusal. */
export function assertInstallable(candidate: InstallCandidate, device: DeviceFacts): void {
  const verdict = checkInstallPolicy(candidate, device);
  if (!verdict.ok) throw verdict.error;
}
