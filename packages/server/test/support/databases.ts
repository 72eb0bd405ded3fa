// The dialects every repository test runs on: SQLite in a temp dir, and the PostgreSQL service of
// this machine in a schema of its own per run. With CI=true a missing PostgreSQL fails the run.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import pg from 'pg';
import { type ServerConfig, ServerConfigSchema } from '../../src/index.js';

export const POSTGRES_BASE_URL = process.env.SLIPWAY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  readonly name: 'sqlite' | 'postgres';
  readonly config: Readonly<ServerConfig>;
  cleanup(): Promise<void>;
}

export function configWith(overrides: { dataDir: string; databaseUrl?: string }): ServerConfig {
  const config = Value.Default(ServerConfigSchema, {
    dataDir: overrides.dataDir,
    database: { url: overrides.databaseUrl ?? '' },
  }) as ServerConfig;
  return config;
}

export async function sqliteDatabase(): Promise<TestDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-server-'));
  return { name: 'sqlite', config: configWith({ dataDir }), cleanup: () => rm(dataDir, { recursive: true, force: true }) };
}

/** Null when PostgreSQL is unreachable and CI is not set (then the caller skips, saying why). */
export async function postgresDatabase(): Promise<TestDatabase | null> {
  const schema = `slipway_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_BASE_URL, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`PostgreSQL is required in CI but ${POSTGRES_BASE_URL} is unreachable: ${String(err)}`);
    return null;
  }
  await admin.query(`create schema "${schema}"`);
  await admin.end();
  const url = new URL(POSTGRES_BASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-server-pg-'));
  return {
    name: 'postgres',
    config: configWith({ dataDir, databaseUrl: url.toString() }),
    async cleanup() {
      const client = new pg.Client({ connectionString: POSTGRES_BASE_URL });
      await client.connect();
      await client.query(`drop schema "${schema}" cascade`);
      await client.end();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Both dialects, for `for (const make of DIALECTS)` loops; postgres may yield null outside CI. */
export const DIALECTS: readonly [string, () => Promise<TestDatabase | null>][] = [
  ['sqlite', sqliteDatabase],
  ['postgres', postgresDatabase],
];
