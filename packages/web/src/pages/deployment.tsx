import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Badge, ConfirmButton, ErrorLine, identityText, Loading, Pager, Section, Table, TallyBar, When } from '../components/ui.js';
import { useAction, useLoad } from '../hooks.js';
import { href } from '../router.js';
import { useCan } from '../session.js';
import type { Deployment, DeploymentDevice, DevicePage } from '../types.js';
import { DeviceLog } from './device.js';

const FINISHED = ['succeeded', 'failed', 'aborted'];
const PER_PAGE = 50;

export function DeploymentPage({ id }: { id: string }) {
  const deployment = useLoad(() => api<Deployment>('GET', `/deployments/${encodeURIComponent(id)}`), [id], 2000);
  const canWrite = useCan('deployments.write');
  const action = useAction();
  const d = deployment.data;
  if (!d) return deployment.error ? <ErrorLine error={deployment.error} /> : <Loading what="the deployment" />;
  const finished = FINISHED.includes(d.status);
  const control = (verb: string) => action.run(() => api('POST', `/deployments/${d.id}/${verb}`)).then(deployment.reload);
  return (
    <>
      <p>
        <a href={href('deployments')}>Deployments</a> /
      </p>
      <h1>
        {d.artifact.name} {d.artifact.version}
      </h1>
      <p aria-live="polite">
        <Badge status={d.status} /> {d.statusReason ? <span>{d.statusReason}</span> : null}{' '}
        <span class="muted">
          to {d.target} · phase {d.currentPhase} of {d.phaseCount} · created <When at={d.createdAt} /> by {d.createdBy}
        </span>
      </p>
      <p class="muted small">
        success threshold {d.successThreshold}% · halts at {d.maxFailures} failed · {d.maxAttempts} attempt(s) per device ·{' '}
        {d.approval === 'manual' ? 'phases wait for approval' : 'phases advance by themselves'}
        {d.window ? ` · window ${d.window}` : ''}
      </p>
      {canWrite && !finished ? (
        <div class="actions">
          {d.status === 'active' ? (
            <button type="button" disabled={action.busy} onClick={() => control('pause')}>
              Pause
            </button>
          ) : null}
          {d.status === 'paused' || d.status === 'halted' ? (
            <button type="button" disabled={action.busy} onClick={() => control('resume')}>
              Resume
            </button>
          ) : null}
          {d.currentPhase < d.phaseCount ? (
            <button type="button" disabled={action.busy} onClick={() => control('advance')}>
              Start phase {d.currentPhase + 1} now
            </button>
          ) : null}
          <ConfirmButton class="danger" disabled={action.busy} confirm="Abort this deployment?" onConfirmed={() => control('abort')}>
            Abort
          </ConfirmButton>
        </div>
      ) : null}
      <ErrorLine error={action.error ?? deployment.error} />
      <Section title="Phases">
        <ol class="phases">
          {d.phases.map((p) => (
            <li key={p.phase} class={p.phase === d.currentPhase && !finished ? 'current' : ''}>
              <div>
                <strong>Phase {p.phase}</strong> <code>{p.spec}</code>{' '}
                <span class="muted">
                  {p.devices.succeeded} of {p.size} succeeded ({p.successesNeeded} needed), {p.devices.failed} failed (halts at{' '}
                  {p.failuresThatHalt}), {p.devices.inProgress} working ·{' '}
                  {p.completedAt ? 'done' : p.startedAt ? 'running' : p.startAt ? `starts ${p.startAt}` : 'waiting'}
                </span>
              </div>
              <TallyBar tally={p.devices} label={`phase ${p.phase}`} />
            </li>
          ))}
        </ol>
      </Section>
      <Devices deployment={d} />
    </>
  );
}

function Devices({ deployment }: { deployment: Deployment }) {
  const [page, setPage] = useState(1);
  const rows = useLoad(
    () =>
      api<{ devices: DeploymentDevice[]; total: number }>('GET', `/deployments/${deployment.id}/devices?page=${page}&perPage=${PER_PAGE}`),
    [deployment.id, page, deployment.updatedAt, deployment.devices.succeeded, deployment.devices.failed, deployment.devices.inProgress],
  );
  // Names for the device ids: one page of the fleet, looked up once.
  const names = useLoad(async () => {
    const found = await api<DevicePage>('GET', '/devices?perPage=500');
    return new Map(found.devices.map((d) => [d.id, identityText(d.identity)]));
  }, [deployment.id]);
  const [log, setLog] = useState<string | null>(null);
  return (
    <Section title="Devices">
      <ErrorLine error={rows.error} />
      {!rows.data ? (
        <Loading what="devices" />
      ) : (
        <>
          <Table headers={['Device', 'Phase', 'Status', 'Attempt', 'Updated', 'Log']}>
            {rows.data.devices.map((r) => (
              <tr key={r.deviceId}>
                <td>
                  <a href={href('devices', r.deviceId)}>{names.data?.get(r.deviceId) ?? r.deviceId.slice(0, 8)}</a>
                </td>
                <td>{r.phase}</td>
                <td>
                  <Badge status={r.status} />
                  {r.progress !== null && r.status === 'downloading' ? <span class="muted small"> {r.progress}%</span> : null}
                  {r.message ? <div class="muted small">{r.message}</div> : null}
                </td>
                <td>{r.attempt}</td>
                <td>
                  <When at={r.updatedAt} />
                </td>
                <td>
                  {r.status === 'failure' || r.status === 'rolled-back' ? (
                    <button type="button" onClick={() => setLog(log === r.deviceId ? null : r.deviceId)}>
                      {log === r.deviceId ? 'Hide' : 'Show'} <span class="sr-only">log</span>
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </Table>
          {log ? <DeviceLog deploymentId={deployment.id} deviceId={log} /> : null}
          <Pager page={page} perPage={PER_PAGE} total={rows.data.total} onPage={setPage} />
        </>
      )}
    </Section>
  );
}
