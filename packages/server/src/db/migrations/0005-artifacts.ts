import type { Kysely } from 'kysely';

// Frozen: a migration never changes once released and never imports application code.
// biome-ignore lint/suspicious/noExplicitAny: migrations see the database as it was, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('trust_root')
    // Versions 1, 2, 3 …: each a rotation of the one before, as devices walk them.
    .addColumn('version', 'integer', (c) => c.primaryKey())
    // The root.json bytes exactly as uploaded: devices verify these bytes, not a re-encoding.
    .addColumn('document', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('uploaded_at', 'text', (c) => c.notNull())
    .addColumn('uploaded_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('artifact')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('security_version', 'integer', (c) => c.notNull())
    // rootfs, directory or module:NAME: what installs it.
    .addColumn('payload_type', 'text', (c) => c.notNull())
    // JSON arrays.
    .addColumn('device_types', 'text', (c) => c.notNull())
    .addColumn('payloads', 'text', (c) => c.notNull())
    .addColumn('signed_by', 'text', (c) => c.notNull())
    // 0 only for an artifact accepted unsigned in development mode.
    .addColumn('signed', 'integer', (c) => c.notNull())
    // The trust root version its signatures were checked against (null when unsigned).
    .addColumn('root_version', 'integer')
    .addColumn('size', 'bigint', (c) => c.notNull())
    // SHA-256 of the whole .slw file: duplicates are found by it, and the store files are named by it.
    .addColumn('sha256', 'text', (c) => c.notNull().unique())
    .addColumn('expires_at', 'text')
    .addColumn('uploaded_at', 'text', (c) => c.notNull())
    .addColumn('uploaded_by', 'text', (c) => c.notNull())
    .addUniqueConstraint('artifact_name_version_unique', ['name', 'version'])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('artifact').execute();
  await db.schema.dropTable('trust_root').execute();
}
