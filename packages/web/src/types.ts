// What the management API answers, as the UI reads it (the server's TypeBox schemas are the source).

export interface Session {
  readonly name: string;
  readonly role: string;
  readonly permissions: ReadonlySet<string>;
}

export interface Tally {
  total: number;
  pending: number;
  inProgress: number;
  succeeded: number;
  failed: number;
  aborted: number;
}

export interface DeviceSummary {
  id: string;
  status: string;
  statusBy: string;
  identity: Record<string, string>;
  deviceType: string | null;
  createdAt: string;
  updatedAt: string;
  lastAuthAt: string | null;
  inventoryAt: string | null;
}

export interface DevicePage {
  devices: DeviceSummary[];
  total: number;
  page: number;
  perPage: number;
}

export interface DeviceDetails extends DeviceSummary {
  inventory: Record<string, string>;
  keys: { keyId: string; state: string; createdAt: string }[];
  authHistory: { at: string; sourceIp: string | null; keyId: string | null; outcome: string; reason: string | null }[];
}

/** A device's row in one deployment, seen from the device: named by the deployment instead. */
export interface DeviceDeployment extends Omit<DeploymentDevice, 'deviceId'> {
  deploymentId: string;
  artifact: { name: string; version: string };
  deploymentStatus: string;
}

export interface Phase {
  phase: number;
  spec: string;
  size: number;
  startAt: string | null;
  startedAt: string | null;
  completedAt: string | null;
  successesNeeded: number;
  failuresThatHalt: number;
  devices: Tally;
  successRate: number | null;
}

export interface Deployment {
  id: string;
  artifact: { id: string; name: string; version: string };
  target: string;
  status: string;
  statusReason: string | null;
  currentPhase: number;
  phaseCount: number;
  successThreshold: number;
  maxFailures: string;
  maxAttempts: number;
  window: string | null;
  approval: string;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  finishedAt: string | null;
  devices: Tally;
  phases: Phase[];
}

export interface DeploymentDevice {
  deviceId: string;
  phase: number;
  status: string;
  attempt: number;
  progress: number | null;
  message: string | null;
  updatedAt: string;
  finishedAt: string | null;
}

export interface Artifact {
  id: string;
  name: string;
  version: string;
  securityVersion: number;
  payloadType: string;
  deviceTypes: string[];
  payloads: { name: string; compression: string; size: number; uncompressedSize: number; sha256: string }[];
  signed: boolean;
  signedBy: string[];
  rootVersion: number | null;
  size: number;
  sha256: string;
  expiresAt: string | null;
  uploadedAt: string;
  uploadedBy: string;
}

export interface Group {
  id: string;
  name: string;
  kind: string;
  filter: { status?: string; attributes?: Record<string, string> } | null;
  members: number;
  createdAt: string;
  createdBy: string;
}

export interface VersionReport {
  deviceType: string | null;
  devices: number;
  versions: { artifact: string | null; version: string | null; devices: number; percent: number }[];
}

export interface AuditEntry {
  seq: number;
  at: string;
  actorType: string;
  actorId: string | null;
  sourceIp: string | null;
  action: string;
  target: string | null;
  outcome: string;
  details: string | null;
  prevHash: string;
  hash: string;
}

export type AuditVerdict =
  | { ok: true; entries: number; headSeq: number; headHash: string }
  | { ok: false; entries: number; firstBadSeq: number; reason: string };

export interface User {
  id: string;
  username: string;
  role: string;
  disabledAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Token {
  id: string;
  name: string;
  role: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export interface TrustRoot {
  version: number;
}
