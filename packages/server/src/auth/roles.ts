import { SlipwayError } from '@slipway/core';

/**
 * Roles and what each may do: the one permission table. Routes name a permission; the matrix in
 * docs/rbac.md and the role x route test are generated from this table, so they cannot drift.
 */
export const ROLES = ['admin', 'release-manager', 'operator', 'ci', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = {
  'users.read': ['admin'],
  'users.write': ['admin'],
  'tokens.read': ['admin'],
  'tokens.write': ['admin'],
  'audit.read': ['admin'],
  'session.read': ['admin', 'release-manager', 'operator', 'ci', 'viewer'],
  'devices.read': ['admin', 'release-manager', 'operator', 'viewer'],
  'devices.admit': ['admin', 'operator'],
  'groups.read': ['admin', 'release-manager', 'operator', 'ci', 'viewer'],
  'groups.write': ['admin', 'operator'],
  'trust.read': ['admin', 'release-manager', 'operator', 'ci', 'viewer'],
  'trust.write': ['admin', 'release-manager'],
  'artifacts.read': ['admin', 'release-manager', 'operator', 'ci', 'viewer'],
  'artifacts.upload': ['admin', 'release-manager', 'ci'],
  'artifacts.delete': ['admin', 'release-manager'],
  'deployments.read': ['admin', 'release-manager', 'operator', 'ci', 'viewer'],
  'deployments.write': ['admin', 'release-manager', 'operator', 'ci'],
  'reports.read': ['admin', 'release-manager', 'operator', 'viewer'],
  'webhooks.read': ['admin'],
  'webhooks.write': ['admin'],
} as const satisfies Record<string, readonly Role[]>;
export type Permission = keyof typeof PERMISSIONS;

/** The role named by untrusted input, or SLW_ROLE_UNKNOWN naming the valid ones. */
export function requireRole(value: string): Role {
  if (!isRole(value)) throw new SlipwayError('SLW_ROLE_UNKNOWN', `role ${JSON.stringify(value)} is not one of ${ROLES.join(', ')}`);
  return value;
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function allows(role: string, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly string[]).includes(role);
}

/** Every permission the role has, sorted by name. */
export function permissionsOf(role: string): Permission[] {
  return (Object.keys(PERMISSIONS) as Permission[]).filter((permission) => allows(role, permission)).sort();
}
