import { randomUUID } from 'node:crypto';
import { SlipwayError } from '@slipway/core';
import { requireRole } from '../auth/roles.js';
import { hashSecret, newSecret } from '../auth/secrets.js';
import type { ApiTokenRepository } from '../repositories/api-token.repository.js';
import type { AuditLog } from './audit-log.service.js';
import type { RequestContext } from './user.service.js';

export class TokenService {
  constructor(
    private readonly tokens: ApiTokenRepository,
    private readonly audit: AuditLog,
    private readonly now: () => Date,
  ) {}

  list() {
    return this.tokens.list();
  }

  /** The secret is returned here and only here; the database keeps its hash. */
  async create(ctx: RequestContext, input: { name: string; role: string; expiresAt?: string | undefined }) {
    const role = requireRole(input.role);
    const at = this.now().toISOString();
    const secret = newSecret('t');
    const row = {
      id: randomUUID(),
      name: input.name,
      role,
      tokenHash: hashSecret(secret),
      createdBy: ctx.principal.id,
      createdAt: at,
      expiresAt: input.expiresAt ?? null,
      revokedAt: null,
      lastUsedAt: null,
    };
    await this.tokens.insert(row);
    await this.audit.appendFor(ctx, {
      action: 'token.create',
      target: row.id,
      outcome: 'success',
      details: { name: row.name, role: row.role, expiresAt: row.expiresAt },
    });
    const { tokenHash: _hash, ...listing } = row;
    return { ...listing, token: secret };
  }

  async revoke(ctx: RequestContext, id: string) {
    if (!(await this.tokens.revoke(id, this.now().toISOString()))) throw new SlipwayError('SLW_TOKEN_NOT_FOUND', `no active token ${id}`);
    await this.audit.appendFor(ctx, { action: 'token.revoke', target: id, outcome: 'success', details: { severity: 'warning' } });
  }
}
