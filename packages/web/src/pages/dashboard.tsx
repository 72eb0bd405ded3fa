import { api } from '../api.js';
import { RolloutItem } from '../components/rollout-item.js';
import { Badge, ErrorLine, Loading, Section, Table, TallyBar, When } from '../components/ui.js';
import { VersionChart } from '../components/version-chart.js';
import { useLoad } from '../hooks.js';
import { href } from '../router.js';
import { Can, useCan } from '../session.js';
import type { AuditEntry, Deployment, DevicePage, VersionReport } from '../types.js';

const STATUSES = ['pending', 'accepted', 'preauthorized', 'rejected', 'decommissioned'] as const;

export function Dashboard() {
  return (
    <div class="grid">
      <h1 class="wide">Fleet</h1>
      <Can permission="devices.read">
        <DeviceCounts />
      </Can>
      <Can permission="reports.read">
        <Versions />
      </Can>
      <Can permission="deployments.read">
        <ActiveRollouts />
        <RecentFailures />
      </Can>
      <Can permission="audit.read">
        <SecurityEvents />
      </Can>
    </div>
  );
}

function DeviceCounts() {
  const counts = useLoad(
    () =>
      Promise.all(
        STATUSES.map(async (status) => [status, (await api<DevicePage>('GET', `/devices?status=${status}&perPage=1`)).total] as const),
      ),
    [],
    10_000,
  );
  const pending = counts.data?.find(([s]) => s === 'pending')?.[1] ?? 0;
  return (
    <Section title="Devices">
      <ErrorLine error={counts.error} />
      {counts.data ? (
        <>
          <a class={`big ${pending > 0 ? 'attention' : ''}`} href={`${href('devices')}?status=pending`}>
            <strong data-testid="pending-count">{pending}</strong> waiting for admission
          </a>
          <ul class="counts">
            {counts.data
              .filter(([s]) => s !== 'pending')
              .map(([status, n]) => (
                <li key={status}>
                  <a href={`${href('devices')}?status=${status}`}>
                    <Badge status={status} /> {n}
                  </a>
                </li>
              ))}
          </ul>
        </>
      ) : (
        <Loading what="devices" />
      )}
    </Section>
  );
}

function Versions() {
  const report = useLoad(() => api<VersionReport[]>('GET', '/reports/versions'), [], 30_000);
  return (
    <Section title="Versions across the fleet">
      <ErrorLine error={report.error} />
      {report.data ? <VersionChart report={report.data} /> : <Loading what="versions" />}
    </Section>
  );
}

function ActiveRollouts() {
  const active = useLoad(
    async () => {
      const lists = await Promise.all(
        (['active', 'paused', 'halted'] as const).map((s) => api<Deployment[]>('GET', `/deployments?status=${s}&perPage=20`)),
      );
      return lists.flat();
    },
    [],
    3000,
  );
  return (
    <Section title="Rollouts in progress" actions={<a href={href('deployments')}>All deployments</a>}>
      <ErrorLine error={active.error} />
      {!active.data ? (
        <Loading what="rollouts" />
      ) : active.data.length === 0 ? (
        <p class="muted">No rollout is in progress.</p>
      ) : (
        <ul class="rollouts">
          {active.data.map((d) => (
            <RolloutItem key={d.id} deployment={d} facts={`to ${d.target}, phase ${d.currentPhase} of ${d.phaseCount}`}>
              {d.phases.map((p) => (
                <TallyBar key={p.phase} tally={p.devices} label={`phase ${p.phase} (${p.spec})`} />
              ))}
            </RolloutItem>
          ))}
        </ul>
      )}
    </Section>
  );
}

function RecentFailures() {
  const recent = useLoad(() => api<Deployment[]>('GET', '/deployments?perPage=50'), [], 10_000);
  const failing = (recent.data ?? []).filter((d) => d.devices.failed > 0 || d.status === 'halted' || d.status === 'failed').slice(0, 8);
  return (
    <Section title="Recent failures">
      <ErrorLine error={recent.error} />
      {!recent.data ? (
        <Loading what="deployments" />
      ) : failing.length === 0 ? (
        <p class="muted">No recent deployment has failed devices.</p>
      ) : (
        <Table headers={['Deployment', 'Status', 'Failed', 'Updated']}>
          {failing.map((d) => (
            <tr key={d.id}>
              <td>
                <a href={href('deployments', d.id)}>
                  {d.artifact.name} {d.artifact.version}
                </a>
              </td>
              <td>
                <Badge status={d.status} />
                {d.statusReason ? <div class="muted small">{d.statusReason}</div> : null}
              </td>
              <td>{d.devices.failed}</td>
              <td>
                <When at={d.updatedAt} />
              </td>
            </tr>
          ))}
        </Table>
      )}
    </Section>
  );
}

function SecurityEvents() {
  const canAudit = useCan('audit.read');
  const events = useLoad(() => api<{ entries: AuditEntry[] }>('GET', '/audit/entries?order=desc&severity=any&limit=8'), [canAudit], 15_000);
  return (
    <Section title="Recent security events" actions={<a href={`${href('audit')}?severity=any`}>Audit log</a>}>
      <ErrorLine error={events.error} />
      {!events.data ? (
        <Loading what="security events" />
      ) : events.data.entries.length === 0 ? (
        <p class="muted">No security events.</p>
      ) : (
        <ul class="events">
          {events.data.entries.map((e) => (
            <li key={e.seq}>
              <span class={`badge ${severityOf(e) === 'critical' ? 'bad' : 'warn'}`}>{severityOf(e)}</span> <code>{e.action}</code>{' '}
              {e.target ? <span class="muted">{e.target}</span> : null} <When at={e.at} />
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}

export function severityOf(entry: AuditEntry): string {
  try {
    return (JSON.parse(entry.details ?? '{}') as { severity?: string }).severity ?? '';
  } catch {
    return '';
  }
}
