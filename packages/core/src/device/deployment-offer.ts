/**
 * What `GET /api/devices/v1/deployments/next` answers: the server builds it, the agent acts on it.
 * One definition for both sides of the wire.
 */
export interface DeploymentOffer {
  readonly id: string;
  readonly attempt: number;
  /** Where this device stands in the deployment (pending until it reports). */
  readonly status: string;
  readonly artifact: {
    readonly id: string;
    readonly name: string;
    readonly version: string;
    readonly securityVersion: number;
    readonly payloadType: string;
    readonly deviceTypes: readonly string[];
    readonly size: number;
    readonly sha256: string;
  };
  /** A link bound to the device and the deployment, valid for a while: ask again for a fresh one. */
  readonly download: { readonly url: string; readonly expiresAt: string };
  /** Outside a maintenance window a device may download but must not install. */
  readonly install: { readonly allowed: boolean; readonly windowOpensAt: string | null; readonly windowClosesAt: string | null };
}
