import type { Kysely } from 'kysely';

// Frozen: a migration never changes once released and never imports application code.
// biome-ignore lint/suspicious/noExplicitAny: migrations see the database as it was, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('deployment')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // No foreign key: a finished deployment stays in the history after its artifact is deleted.
    .addColumn('artifact_id', 'text', (c) => c.notNull())
    // What the operator asked for, as given: `group:NAME` or `devices` (the list is in deployment_device).
    .addColumn('target', 'text', (c) => c.notNull())
    // active | paused | halted | aborted | succeeded | failed
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_reason', 'text')
    // Phases 1..n; 0 while the first phase waits for its start time.
    .addColumn('current_phase', 'integer', (c) => c.notNull())
    .addColumn('phase_count', 'integer', (c) => c.notNull())
    // Percent of a phase's devices that must succeed before the next phase starts.
    .addColumn('success_threshold', 'real', (c) => c.notNull())
    // JSON { count } or { percent }: failures in a phase that halt the rollout.
    .addColumn('max_failures', 'text', (c) => c.notNull())
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    // JSON { cron, durationMinutes, timezone } or null: installs only inside the window.
    .addColumn('maintenance_window', 'text')
    // auto: a phase that reaches the threshold starts the next; manual: an operator advances.
    .addColumn('approval', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .execute();
  await db.schema.createIndex('deployment_status_idx').on('deployment').columns(['status', 'created_at']).execute();
  await db.schema.createIndex('deployment_artifact_idx').on('deployment').column('artifact_id').execute();
  await db.schema
    .createTable('deployment_phase')
    .addColumn('deployment_id', 'text', (c) => c.notNull().references('deployment.id').onDelete('cascade'))
    .addColumn('phase', 'integer', (c) => c.notNull())
    // As asked: `5%` or `group:NAME`.
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('start_at', 'text')
    .addColumn('started_at', 'text')
    .addColumn('completed_at', 'text')
    // Failures an operator saw when resuming a halted phase: only new ones count towards halting again.
    .addColumn('acknowledged_failures', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('deployment_phase_pk', ['deployment_id', 'phase'])
    .execute();
  await db.schema
    .createTable('deployment_device')
    .addColumn('deployment_id', 'text', (c) => c.notNull().references('deployment.id').onDelete('cascade'))
    .addColumn('device_id', 'text', (c) => c.notNull().references('device.id').onDelete('cascade'))
    .addColumn('phase', 'integer', (c) => c.notNull())
    // pending, downloading, installing, rebooting, committing, success, failure, rolled-back,
    // already-installed, aborted
    .addColumn('status', 'text', (c) => c.notNull())
    // 1, 2, …: reports name their attempt, so a report repeated after a lost answer changes nothing.
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('progress', 'integer')
    .addColumn('message', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .addPrimaryKeyConstraint('deployment_device_pk', ['deployment_id', 'device_id'])
    .execute();
  await db.schema.createIndex('deployment_device_device_idx').on('deployment_device').columns(['device_id', 'status']).execute();
  await db.schema
    .createIndex('deployment_device_phase_idx')
    .on('deployment_device')
    .columns(['deployment_id', 'phase', 'status'])
    .execute();
  await db.schema
    .createTable('deployment_log')
    .addColumn('deployment_id', 'text', (c) => c.notNull().references('deployment.id').onDelete('cascade'))
    .addColumn('device_id', 'text', (c) => c.notNull().references('device.id').onDelete('cascade'))
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('log', 'text', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('deployment_log_pk', ['deployment_id', 'device_id', 'attempt'])
    .execute();
  // When the device last called the server with a valid token (written at most once a minute).
  await db.schema.alterTable('device').addColumn('last_seen_at', 'text').execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('device').dropColumn('last_seen_at').execute();
  await db.schema.dropTable('deployment_log').execute();
  await db.schema.dropTable('deployment_device').execute();
  await db.schema.dropTable('deployment_phase').execute();
  await db.schema.dropTable('deployment').execute();
}
