import { mkdir, readFile, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileError, SlipwayError, writeFileAtomic } from '@slipway/core';
import type { CliEnvironment } from './environment.js';

/** What `slipway login` remembers: mode 0600, in a 0700 directory, never on the command line. */
export interface SavedSession {
  readonly server: string;
  readonly token: string;
  /** Absolute path of the CA bundle that pins the server, or null for a publicly trusted one. */
  readonly caFile: string | null;
}

export interface ServerTarget {
  readonly server: string;
  readonly token: string | undefined;
  readonly caFile: string | undefined;
}

const sessionPath = (env: CliEnvironment) => join(env.configDir, 'session.json');

export async function loadSession(env: CliEnvironment): Promise<SavedSession | null> {
  let text: string;
  try {
    text = await readFile(sessionPath(env), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fileError(err, sessionPath(env), 'read');
  }
  try {
    const value = JSON.parse(text) as SavedSession;
    if (typeof value.server === 'string' && typeof value.token === 'string') return value;
  } catch {
    // fall through: a damaged file is as good as none
  }
  return null;
}

export async function saveSession(env: CliEnvironment, session: SavedSession): Promise<string> {
  await mkdir(env.configDir, { recursive: true, mode: 0o700 });
  const path = sessionPath(env);
  await writeFileAtomic(path, `${JSON.stringify(session, null, 2)}\n`, { mode: 0o600 });
  return path;
}

export async function forgetSession(env: CliEnvironment): Promise<void> {
  await unlink(sessionPath(env)).catch(() => undefined);
}

/** Flags beat SLIPWAY_* variables, which beat the saved session (CI sets variables, people log in). */
export async function resolveTarget(
  env: CliEnvironment,
  flags: { server?: string | undefined; ca?: string | undefined },
): Promise<ServerTarget> {
  const saved = await loadSession(env);
  const server = flags.server ?? env.server ?? saved?.server;
  if (server === undefined) {
    throw new SlipwayError(
      'SLW_SERVER_NOT_LOGGED_IN',
      'no server: run slipway login --server URL --username U --password-stdin, or set SLIPWAY_SERVER',
    );
  }
  const caFile = flags.ca ?? env.ca ?? saved?.caFile ?? undefined;
  return { server, token: env.token ?? saved?.token, caFile: caFile === undefined ? undefined : resolve(caFile) };
}
