/**
 * The update state machine as data: every state, every event it can end with, and the state that
 * follows. The agent persists the next state before it runs that state's effect, so a process
 * killed at any instant restarts in a state whose effect it can simply run again.
 *
 * Effects, by state (the runner maps each state to one):
 * - downloading: stream the artifact, verify it as it arrives, write the payload to the inactive
 *   slot (the active one is never touched); `downloaded` when verified and synced.
 * - installing: switch to the new software on trial (bootloader boots the new slot once; directory
 *   releases switch their symlink); `needsReboot` or `installed`.
 * - rebooting: reboot (again, if the boot id shows the last reboot did not happen); after the
 *   restart `booted`.
 * - verifying: check the trial really runs the new software (`fellBack` if the bootloader gave up
 *   on it), then the health gate: reach the server, run the sanity hooks; `healthy` or `unhealthy`.
 * - committing: make the trial permanent, record the installed version; `committed`.
 * - rollingBack: switch back to the previous software; `needsReboot` or `rolledBack`.
 * - rollbackRebooting: as rebooting, towards the previous slot; `booted`.
 * - reportingSuccess / reportingFailure: tell the server (and upload the log), retried until
 *   acknowledged; `reported`.
 */
export const STATES = [
  'idle',
  'downloading',
  'installing',
  'rebooting',
  'verifying',
  'committing',
  'rollingBack',
  'rollbackRebooting',
  'reportingSuccess',
  'reportingFailure',
] as const;
export type UpdateStateName = (typeof STATES)[number];

export const EVENTS = [
  'start',
  'downloaded',
  'installed',
  'needsReboot',
  'booted',
  'healthy',
  'unhealthy',
  'fellBack',
  'committed',
  'rolledBack',
  'reported',
  'failed',
  'aborted',
  'alreadyInstalled',
  /** The state was entered too often: a crash loop or a retry loop. */
  'looping',
] as const;
export type UpdateEvent = (typeof EVENTS)[number];

export interface Transition {
  readonly from: UpdateStateName;
  readonly event: UpdateEvent;
  readonly to: UpdateStateName;
  /** Why, for the table in the docs and for reviewers. */
  readonly note: string;
}

export const TRANSITIONS: readonly Transition[] = [
  { from: 'idle', event: 'start', to: 'downloading', note: 'a deployment (or a local artifact) to install' },
  { from: 'downloading', event: 'downloaded', to: 'installing', note: 'verified and written to the inactive slot' },
  { from: 'downloading', event: 'alreadyInstalled', to: 'reportingSuccess', note: 'the device runs this artifact already' },
  { from: 'downloading', event: 'failed', to: 'reportingFailure', note: 'refused or broken: the active slot was never touched' },
  { from: 'downloading', event: 'aborted', to: 'idle', note: 'the server aborted the deployment: discard, report nothing' },
  { from: 'downloading', event: 'looping', to: 'reportingFailure', note: 'crashed or retried too often before anything was switched' },
  { from: 'installing', event: 'needsReboot', to: 'rebooting', note: 'the bootloader will boot the new slot once' },
  { from: 'installing', event: 'installed', to: 'verifying', note: 'switched without a reboot (directory releases, modules)' },
  { from: 'installing', event: 'failed', to: 'rollingBack', note: 'the switch may have happened: undo it' },
  { from: 'installing', event: 'looping', to: 'rollingBack', note: 'crash loop while switching' },
  { from: 'rebooting', event: 'booted', to: 'verifying', note: 'running again after the reboot' },
  { from: 'rebooting', event: 'failed', to: 'rollingBack', note: 'the reboot could not be requested' },
  { from: 'rebooting', event: 'looping', to: 'rollingBack', note: 'the device keeps coming back without having rebooted' },
  { from: 'verifying', event: 'healthy', to: 'committing', note: 'the server is reachable and every sanity hook passed' },
  { from: 'verifying', event: 'unhealthy', to: 'rollingBack', note: 'a sanity hook failed or the server is unreachable' },
  { from: 'verifying', event: 'fellBack', to: 'reportingFailure', note: 'the bootloader already went back: nothing to undo' },
  { from: 'verifying', event: 'looping', to: 'rollingBack', note: 'the health gate keeps crashing' },
  { from: 'committing', event: 'committed', to: 'reportingSuccess', note: 'the new software is permanent' },
  { from: 'committing', event: 'failed', to: 'rollingBack', note: 'the commit could not be written' },
  { from: 'committing', event: 'looping', to: 'rollingBack', note: 'the commit keeps crashing' },
  { from: 'rollingBack', event: 'needsReboot', to: 'rollbackRebooting', note: 'back to the previous slot needs a reboot' },
  { from: 'rollingBack', event: 'rolledBack', to: 'reportingFailure', note: 'the previous software runs again' },
  {
    from: 'rollingBack',
    event: 'looping',
    to: 'reportingFailure',
    note: 'rollback keeps crashing: report it, the bootloader limit still applies',
  },
  { from: 'rollbackRebooting', event: 'booted', to: 'reportingFailure', note: 'running the previous software again' },
  { from: 'rollbackRebooting', event: 'looping', to: 'reportingFailure', note: 'the reboot keeps not happening' },
  { from: 'verifying', event: 'failed', to: 'rollingBack', note: 'the check itself broke: do not keep unverified software' },
  {
    from: 'rollingBack',
    event: 'failed',
    to: 'reportingFailure',
    note: 'could not switch back: report it; the bootloader limit still applies',
  },
  { from: 'rollbackRebooting', event: 'failed', to: 'reportingFailure', note: 'the reboot could not be requested' },
  { from: 'reportingSuccess', event: 'failed', to: 'idle', note: 'the server refused the report (e.g. aborted): nothing more to say' },
  { from: 'reportingFailure', event: 'failed', to: 'idle', note: 'the server refused the report: nothing more to say' },
  { from: 'reportingSuccess', event: 'reported', to: 'idle', note: 'the server knows' },
  { from: 'reportingSuccess', event: 'looping', to: 'idle', note: 'give up reporting; inventory tells the server later' },
  { from: 'reportingFailure', event: 'reported', to: 'idle', note: 'the server has the status and the log' },
  { from: 'reportingFailure', event: 'looping', to: 'idle', note: 'give up reporting; the log stays for the next chance' },
];

const index = new Map(TRANSITIONS.map((t) => [`${t.from} ${t.event}`, t]));

/** The transition for an event in a state, or undefined when the table has none (a bug). */
export function transition(from: UpdateStateName, event: UpdateEvent): Transition | undefined {
  return index.get(`${from} ${event}`);
}
