import { randomUUID } from 'node:crypto';
import { SlipwayError } from '@slipway/core';
import { requireRole } from '../auth/roles.js';
import type { SessionRepository } from '../repositories/session.repository.js';
import type { UserRepository } from '../repositories/user.repository.js';
import type { AuditLog } from './audit-log.service.js';
import type { Principal } from './auth.service.js';
import { hashPassword } from './password-hasher.js';

export interface RequestContext {
  readonly principal: Principal;
  readonly sourceIp: string;
}

export class UserService {
  constructor(
    private readonly users: UserRepository,
    private readonly sessions: SessionRepository,
    private readonly audit: AuditLog,
    private readonly now: () => Date,
  ) {}

  list() {
    return this.users.list();
  }

  async create(ctx: RequestContext, input: { username: string; password: string; role: string }) {
    const role = requireRole(input.role);
    if (await this.users.findByUsername(input.username)) throw new SlipwayError('SLW_USER_EXISTS', `user ${input.username} exists already`);
    const at = this.now().toISOString();
    const user = {
      id: randomUUID(),
      username: input.username,
      passwordHash: await hashPassword(input.password),
      role,
      disabledAt: null,
      createdAt: at,
      updatedAt: at,
    };
    await this.users.insert(user);
    await this.audit.appendFor(ctx, { action: 'user.create', target: user.username, outcome: 'success', details: { role } });
    return { id: user.id, username: user.username, role, disabledAt: null, createdAt: at, updatedAt: at };
  }

  async setRole(ctx: RequestContext, username: string, newRole: string) {
    const role = requireRole(newRole);
    const user = await this.require(username);
    await this.users.update(user.id, { role, updatedAt: this.now().toISOString() });
    await this.audit.appendFor(ctx, {
      action: 'user.set-role',
      target: username,
      outcome: 'success',
      details: { from: user.role, to: role, severity: 'warning' },
    });
  }

  /** Disabling also ends every session of the user at once. */
  async disable(ctx: RequestContext, username: string) {
    const user = await this.require(username);
    const at = this.now().toISOString();
    await this.users.update(user.id, { disabledAt: at, updatedAt: at });
    await this.sessions.revokeAllOfUser(user.id, at);
    await this.audit.appendFor(ctx, { action: 'user.disable', target: username, outcome: 'success', details: { severity: 'warning' } });
  }

  private async require(username: string) {
    const user = await this.users.findByUsername(username);
    if (!user) throw new SlipwayError('SLW_USER_NOT_FOUND', `no user ${username}`);
    return user;
  }
}
