import { randomUUID } from 'node:crypto';
import { SlipwayError } from '@slipway/core';
import { isRole, type Role } from '../auth/roles.js';
import { hashSecret, newSecret } from '../auth/secrets.js';
import type { ApiTokenRepository } from '../repositories/api-token.repository.js';
import type { SessionRepository } from '../repositories/session.repository.js';
import type { UserRepository } from '../repositories/user.repository.js';
import type { AuditLog } from './audit-log.service.js';
import type { LoginThrottle } from './login-throttle.js';
import { FREE_FAILURES } from './login-throttle.js';
import { hashPassword, verifyPassword } from './password-hasher.js';

export const SESSION_LIFETIME_MS = 12 * 60 * 60_000;
const LAST_USED_RESOLUTION_MS = 60_000;

/** Who is making a request: a logged-in user or an API token, with the role that decides. */
export interface Principal {
  readonly kind: 'user' | 'token';
  readonly id: string;
  readonly name: string;
  readonly role: Role;
}

export interface AuthDependencies {
  readonly users: UserRepository;
  readonly sessions: SessionRepository;
  readonly tokens: ApiTokenRepository;
  readonly audit: AuditLog;
  readonly throttle: LoginThrottle;
  readonly now: () => Date;
}

// A real hash to verify against when the user does not exist, so both paths cost the same time.
const DUMMY_HASH = hashPassword('slipway-dummy-password-for-timing');

export class AuthService {
  constructor(private readonly deps: AuthDependencies) {}

  /** Password login; every outcome is audited, and the error never says whether the user exists. */
  async login(username: string, password: string, sourceIp: string): Promise<{ token: string; expiresAt: string; principal: Principal }> {
    const { users, sessions, audit, throttle } = this.deps;
    const waitMs = throttle.retryAfterMs(username, sourceIp);
    if (waitMs > 0) {
      await audit.append({
        actorType: 'anonymous',
        sourceIp,
        action: 'login.throttled',
        target: username,
        outcome: 'denied',
        details: { severity: 'warning' },
      });
      throw new SlipwayError('SLW_AUTH_THROTTLED', `too many failed logins; retry in ${Math.ceil(waitMs / 1000)} s`, {
        details: { retryAfterSeconds: Math.ceil(waitMs / 1000) },
      });
    }
    const user = await users.findByUsername(username);
    const valid = await verifyPassword(user?.passwordHash ?? (await DUMMY_HASH), password);
    if (!user || !valid || user.disabledAt !== null || !isRole(user.role)) {
      const failures = throttle.failed(username, sourceIp);
      await audit.append({
        actorType: 'anonymous',
        sourceIp,
        action: 'login.failed',
        target: username,
        outcome: 'failure',
        details: { severity: failures > FREE_FAILURES ? 'warning' : 'info', failures },
      });
      throw new SlipwayError('SLW_AUTH_INVALID_CREDENTIALS', 'wrong user name or password');
    }
    throttle.succeeded(username);
    const now = this.deps.now();
    const token = newSecret('s');
    const expiresAt = new Date(now.getTime() + SESSION_LIFETIME_MS).toISOString();
    await sessions.insert({
      id: randomUUID(),
      tokenHash: hashSecret(token),
      userId: user.id,
      createdAt: now.toISOString(),
      expiresAt,
      revokedAt: null,
    });
    await audit.append({ actorType: 'user', actorId: user.id, sourceIp, action: 'login', target: user.username, outcome: 'success' });
    return { token, expiresAt, principal: { kind: 'user', id: user.id, name: user.username, role: user.role } };
  }

  /**
   * Resolves a bearer secret to a principal, reading the database every time: revoking a session,
   * a token or a user, or changing a role, takes effect on the very next request.
   */
  async authenticate(secret: string, sourceIp: string): Promise<Principal> {
    const now = this.deps.now();
    const at = now.toISOString();
    const hash = hashSecret(secret);
    if (secret.startsWith('slw_s_')) {
      const found = await this.deps.sessions.findLive(hash);
      if (found && found.revokedAt === null && found.expiresAt > at && found.user.disabledAt === null && isRole(found.user.role)) {
        return { kind: 'user', id: found.user.id, name: found.user.username, role: found.user.role };
      }
    } else if (secret.startsWith('slw_t_')) {
      const token = await this.deps.tokens.findByHash(hash);
      if (token && token.revokedAt !== null) {
        // A revoked token still in use is worth an alarm: it may have leaked.
        await this.deps.audit.append({
          actorType: 'token',
          actorId: token.id,
          sourceIp,
          action: 'token.used-after-revocation',
          target: token.name,
          outcome: 'denied',
          details: { severity: 'critical' },
        });
      }
      if (token && token.revokedAt === null && (token.expiresAt === null || token.expiresAt > at) && isRole(token.role)) {
        // Recorded at most once a minute: a write (and an fsync) on every CI request would cost more than it tells.
        if (token.lastUsedAt === null || Date.parse(token.lastUsedAt) < now.getTime() - LAST_USED_RESOLUTION_MS)
          await this.deps.tokens.touch(token.id, at);
        return { kind: 'token', id: token.id, name: token.name, role: token.role };
      }
    }
    throw new SlipwayError('SLW_AUTH_REQUIRED', 'a valid session or API token is required');
  }

  async logout(secret: string, principal: Principal, sourceIp: string): Promise<void> {
    await this.deps.sessions.revoke(hashSecret(secret), this.deps.now().toISOString());
    await this.deps.audit.append({
      actorType: principal.kind,
      actorId: principal.id,
      sourceIp,
      action: 'logout',
      target: principal.name,
      outcome: 'success',
    });
  }
}
