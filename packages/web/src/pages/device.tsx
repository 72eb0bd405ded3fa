import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Badge, ConfirmButton, ErrorLine, identityText, Loading, Section, Table, When } from '../components/ui.js';
import { useAction, useLoad } from '../hooks.js';
import { href } from '../router.js';
import { useCan } from '../session.js';
import type { DeviceDeployment, DeviceDetails } from '../types.js';

export function DevicePage({ id }: { id: string }) {
  const device = useLoad(() => api<DeviceDetails>('GET', `/devices/${encodeURIComponent(id)}`), [id], 5000);
  const canAdmit = useCan('devices.admit');
  const action = useAction();
  const d = device.data;
  const decide = (decision: string) => action.run(() => api('POST', `/devices/${encodeURIComponent(id)}/${decision}`)).then(device.reload);
  if (!d) return device.error ? <ErrorLine error={device.error} /> : <Loading what="the device" />;
  return (
    <>
      <p>
        <a href={href('devices')}>Devices</a> /
      </p>
      <h1>{identityText(d.identity)}</h1>
      <p>
        <Badge status={d.status} /> <span class="muted">by {d.statusBy}</span> · type {d.deviceType ?? 'unknown'} · last seen{' '}
        <When at={d.lastAuthAt} />
      </p>
      {canAdmit ? (
        <div class="actions">
          {d.status === 'pending' || d.status === 'rejected' ? (
            <button type="button" class="primary" disabled={action.busy} onClick={() => decide('accept')}>
              Accept
            </button>
          ) : null}
          {d.status === 'pending' ? (
            <button type="button" disabled={action.busy} onClick={() => decide('reject')}>
              Reject
            </button>
          ) : null}
          {d.status !== 'decommissioned' ? (
            <ConfirmButton
              class="danger"
              disabled={action.busy}
              confirm="Decommission this device? Its keys are deleted at once; it must be admitted anew."
              onConfirmed={() => decide('decommission')}
            >
              Decommission
            </ConfirmButton>
          ) : null}
        </div>
      ) : null}
      <ErrorLine error={action.error ?? device.error} />
      <div class="grid">
        <Section title="Inventory">
          {Object.keys(d.inventory).length === 0 ? (
            <p class="muted">Not reported yet.</p>
          ) : (
            <dl class="pairs">
              {Object.entries(d.inventory).map(([k, v]) => (
                <div key={k}>
                  <dt>{k}</dt>
                  <dd>{v}</dd>
                </div>
              ))}
            </dl>
          )}
        </Section>
        <Section title="Keys">
          <ul class="plain">
            {d.keys.map((k) => (
              <li key={k.keyId}>
                <code>{k.keyId}</code> <Badge status={k.state} /> <When at={k.createdAt} />
              </li>
            ))}
          </ul>
        </Section>
        <DeploymentHistory id={id} />
        <Section title="Authentication history">
          <Table headers={['When', 'Outcome', 'From', 'Reason']}>
            {d.authHistory.map((e) => (
              <tr key={`${e.at}-${e.outcome}`}>
                <td>
                  <When at={e.at} />
                </td>
                <td>
                  <Badge status={e.outcome} />
                </td>
                <td>{e.sourceIp ?? ''}</td>
                <td>{e.reason ?? ''}</td>
              </tr>
            ))}
          </Table>
        </Section>
      </div>
    </>
  );
}

function DeploymentHistory({ id }: { id: string }) {
  const history = useLoad(
    () => api<{ deployments: DeviceDeployment[] }>('GET', `/devices/${encodeURIComponent(id)}/deployments`),
    [id],
    5000,
  );
  const [shown, setShown] = useState<string | null>(null);
  return (
    <Section title="Deployments">
      <ErrorLine error={history.error} />
      {!history.data ? (
        <Loading what="deployments" />
      ) : history.data.deployments.length === 0 ? (
        <p class="muted">Never in a deployment.</p>
      ) : (
        <>
          <Table headers={['Release', 'Status', 'Attempt', 'Updated', 'Log']}>
            {history.data.deployments.map((d) => (
              <tr key={d.deploymentId}>
                <td>
                  <a href={href('deployments', d.deploymentId)}>
                    {d.artifact.name} {d.artifact.version}
                  </a>
                </td>
                <td>
                  <Badge status={d.status} />
                  {d.message ? <div class="muted small">{d.message}</div> : null}
                </td>
                <td>{d.attempt}</td>
                <td>
                  <When at={d.updatedAt} />
                </td>
                <td>
                  <button type="button" onClick={() => setShown(shown === d.deploymentId ? null : d.deploymentId)}>
                    {shown === d.deploymentId ? 'Hide' : 'Show'} <span class="sr-only">log</span>
                  </button>
                </td>
              </tr>
            ))}
          </Table>
          {shown ? <DeviceLog deploymentId={shown} deviceId={id} /> : null}
        </>
      )}
    </Section>
  );
}

export function DeviceLog({ deploymentId, deviceId }: { deploymentId: string; deviceId: string }) {
  const logs = useLoad(
    () => api<{ attempt: number; receivedAt: string; log: string }[]>('GET', `/deployments/${deploymentId}/devices/${deviceId}/logs`),
    [deploymentId, deviceId],
  );
  if (logs.error) return <ErrorLine error={logs.error} />;
  if (!logs.data) return <Loading what="the log" />;
  if (logs.data.length === 0) return <p class="muted">The device uploaded no log (it uploads one with a failure).</p>;
  return (
    <>
      {logs.data.map((l) => (
        <figure key={l.attempt}>
          <figcaption>
            Attempt {l.attempt}, received <When at={l.receivedAt} />
          </figcaption>
          <pre class="log">{l.log}</pre>
        </figure>
      ))}
    </>
  );
}
