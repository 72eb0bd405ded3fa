import type { Migration } from 'kysely';
import * as m0001 from './0001-users.js';
import * as m0002 from './0002-audit.js';
import * as m0003 from './0003-sessions-and-tokens.js';
import * as m0004 from './0004-devices.js';
import * as m0005 from './0005-artifacts.js';
import * as m0006 from './0006-webhooks.js';
import * as m0007 from './0007-deployments.js';

/** Every migration, by name; names sort in the order they run. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001-users': m0001,
  '0002-audit': m0002,
  '0003-sessions-and-tokens': m0003,
  '0004-devices': m0004,
  '0005-artifacts': m0005,
  '0006-webhooks': m0006,
  '0007-deployments': m0007,
};
