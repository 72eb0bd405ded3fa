import type { ServerConfig } from '../config/server-config.js';
import { createDatabase } from '../db/create-database.js';
import { migrateToLatest } from '../db/migrate.js';
import { AuditRepository } from '../repositories/audit.repository.js';
import { AuditLog } from './audit-log.service.js';

/**
 * `slipway server --rotate-secrets`: forgets the secrets the server made for itself (the device
 * token signing key and the download-link key), so every device token and download link issued
 * with them stops working. The next start makes new ones; devices simply authenticate again with
 * their own keys. For a server that may have been compromised. On SQLite it takes the data
 * directory's lock, so it refuses to run beside a running server; on PostgreSQL every server
 * process must be restarted afterwards, as each holds the old keys in memory until then.
 */
export async function rotateServerSecrets(config: Readonly<ServerConfig>, now: Date = new Date()): Promise<string[]> {
  const { db } = createDatabase(config);
  try {
    await migrateToLatest(db);
    const names = (await db.selectFrom('serverSecret').select('name').orderBy('name').execute()).map((r) => r.name);
    if (names.length > 0) await db.deleteFrom('serverSecret').where('name', 'in', names).execute();
    // After the deletion: the chain records a rotation that happened (its own appends retry on races).
    await new AuditLog(new AuditRepository(db), () => now).append({
      actorType: 'system',
      action: 'server.secrets.rotate',
      target: 'server',
      outcome: 'success',
      details: { rotated: names },
    });
    return names;
  } finally {
    await db.destroy();
  }
}
