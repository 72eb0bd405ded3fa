import { type ComponentChildren, createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Session } from './types.js';

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('no session');
  return session;
}

/** Whether the signed-in role may do this: controls it may not use are not shown (the API refuses them anyway). */
export function useCan(permission: string): boolean {
  return useSession().permissions.has(permission);
}

export function Can({ permission, children }: { permission: string; children: ComponentChildren }) {
  return useCan(permission) ? children : null;
}
