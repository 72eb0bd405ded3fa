import type { Route } from '../router.js';
import { useCan } from '../session.js';
import { Admin } from './admin.js';
import { Artifacts } from './artifacts.js';
import { Audit } from './audit.js';
import { Dashboard } from './dashboard.js';
import { DeploymentPage } from './deployment.js';
import { Deployments } from './deployments.js';
import { DevicePage } from './device.js';
import { Devices } from './devices.js';
import { Groups } from './groups.js';

const PERMISSION: Record<string, string> = {
  devices: 'devices.read',
  groups: 'groups.read',
  artifacts: 'artifacts.read',
  deployments: 'deployments.read',
  audit: 'audit.read',
  admin: 'users.read',
};

/** The page a route names; one the role may not see says so instead. */
export function Page({ route }: { route: Route }) {
  const allowed = useCan(PERMISSION[route.page] ?? 'session.read');
  if (!allowed) return <p class="error">Your role may not see this page.</p>;
  const [id] = route.params;
  switch (route.page) {
    case '':
      return <Dashboard />;
    case 'devices':
      return id ? <DevicePage id={id} /> : <Devices query={route.query} />;
    case 'groups':
      return <Groups />;
    case 'artifacts':
      return <Artifacts />;
    case 'deployments':
      return id ? <DeploymentPage id={id} /> : <Deployments query={route.query} />;
    case 'audit':
      return <Audit />;
    case 'admin':
      return <Admin />;
    default:
      return <p class="error">There is no page {route.page}.</p>;
  }
}
