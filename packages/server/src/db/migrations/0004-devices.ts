import type { Kysely } from 'kysely';

// Frozen: a migration never changes once released and never imports application code.
// biome-ignore lint/suspicious/noExplicitAny: migrations see the database as it was, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('device')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // Canonical JSON of the identity attributes (sorted keys): one row per identity.
    .addColumn('identity', 'text', (c) => c.notNull().unique())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('last_auth_at', 'text')
    .addColumn('device_type', 'text')
    .addColumn('inventory', 'text')
    .addColumn('inventory_at', 'text')
    .execute();
  await db.schema.createIndex('device_status_idx').on('device').column('status').execute();
  await db.schema
    .createTable('device_key')
    // SHA-256 of the SPKI DER: a key belongs to one device only (a shared key is a cloned device).
    .addColumn('key_id', 'text', (c) => c.primaryKey())
    .addColumn('device_id', 'text', (c) => c.notNull().references('device.id').onDelete('cascade'))
    .addColumn('public_key', 'text', (c) => c.notNull())
    // 'active', or 'next' while a two-step rotation waits for the first login with the new key.
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('device_key_device_idx').on('device_key').column('device_id').execute();
  // Identity and inventory attributes, one row each, so filters are plain portable SQL.
  await db.schema
    .createTable('device_attribute')
    .addColumn('device_id', 'text', (c) => c.notNull().references('device.id').onDelete('cascade'))
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('device_attribute_pk', ['device_id', 'scope', 'name'])
    .execute();
  await db.schema.createIndex('device_attribute_lookup_idx').on('device_attribute').columns(['scope', 'name', 'value']).execute();
  await db.schema
    .createTable('device_nonce')
    .addColumn('nonce', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('device_nonce_expiry_idx').on('device_nonce').column('expires_at').execute();
  await db.schema
    .createTable('device_auth_event')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('device_id', 'text', (c) => c.notNull().references('device.id').onDelete('cascade'))
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('source_ip', 'text')
    .addColumn('key_id', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .execute();
  await db.schema.createIndex('device_auth_event_device_idx').on('device_auth_event').columns(['device_id', 'at']).execute();
  await db.schema
    .createTable('server_secret')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('device_group')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    // Null for a static group; canonical JSON of the saved filter for a dynamic one.
    .addColumn('filter', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('device_group_member')
    .addColumn('group_id', 'text', (c) => c.notNull().references('device_group.id').onDelete('cascade'))
    .addColumn('device_id', 'text', (c) => c.notNull().references('device.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('device_group_member_pk', ['group_id', 'device_id'])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'device_group_member',
    'device_group',
    'server_secret',
    'device_auth_event',
    'device_nonce',
    'device_attribute',
    'device_key',
    'device',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}
