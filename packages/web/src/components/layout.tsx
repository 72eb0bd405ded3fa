import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { Route } from '../router.js';
import { useSession } from '../session.js';

const SECTIONS: readonly { page: string; label: string; permission: string }[] = [
  { page: '', label: 'Dashboard', permission: 'session.read' },
  { page: 'devices', label: 'Devices', permission: 'devices.read' },
  { page: 'groups', label: 'Groups', permission: 'groups.read' },
  { page: 'artifacts', label: 'Artifacts', permission: 'artifacts.read' },
  { page: 'deployments', label: 'Deployments', permission: 'deployments.read' },
  { page: 'audit', label: 'Audit log', permission: 'audit.read' },
  { page: 'admin', label: 'Users & tokens', permission: 'users.read' },
];

export function Layout({ route, onLogout, children }: { route: Route; onLogout: () => void; children: ComponentChildren }) {
  const session = useSession();
  const [open, setOpen] = useState(false);
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/">
          Slipway
        </a>
        <button type="button" class="menu" aria-expanded={open} aria-controls="nav" onClick={() => setOpen(!open)}>
          Menu
        </button>
        <nav id="nav" class={open ? 'open' : ''} aria-label="main">
          <ul>
            {SECTIONS.filter((s) => session.permissions.has(s.permission)).map((s) => (
              <li key={s.page}>
                <a href={`#/${s.page}`} aria-current={route.page === s.page ? 'page' : undefined} onClick={() => setOpen(false)}>
                  {s.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>
            {session.name} <span class="muted">({session.role})</span>
          </span>
          <button type="button" onClick={onLogout}>
            Log out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
