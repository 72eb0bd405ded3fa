import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { RolloutItem } from '../components/rollout-item.js';
import { ErrorLine, Field, Loading, Pager, Section, StatusFilter, TallyBar, When } from '../components/ui.js';
import { useAction, useLoad } from '../hooks.js';
import { href, navigate } from '../router.js';
import { Can } from '../session.js';
import type { Artifact, Deployment, DevicePage, Group } from '../types.js';

const PER_PAGE = 20;
const STATUSES = ['', 'active', 'paused', 'halted', 'succeeded', 'failed', 'aborted'];

export function Deployments({ query }: { query: URLSearchParams }) {
  const status = query.get('status') ?? '';
  const page = Math.max(1, Number(query.get('page') ?? '1') || 1);
  const [creating, setCreating] = useState(query.get('new') === '1');
  const list = useLoad(
    () => api<Deployment[]>('GET', `/deployments?page=${page}&perPage=${PER_PAGE}${status ? `&status=${status}` : ''}`),
    [status, page],
    3000,
  );
  const go = (s: string, p: number) =>
    navigate(`${href('deployments')}?${new URLSearchParams({ ...(s ? { status: s } : {}), page: String(p) })}`);
  return (
    <>
      <h1>Deployments</h1>
      <Can permission="deployments.write">
        {creating ? (
          <CreateDeployment onCancel={() => setCreating(false)} />
        ) : (
          <button type="button" class="primary" onClick={() => setCreating(true)}>
            New deployment
          </button>
        )}
      </Can>
      <form class="filters" aria-label="filter deployments">
        <StatusFilter statuses={STATUSES} value={status} onChange={(s) => go(s, 1)} />
      </form>
      <ErrorLine error={list.error} />
      {!list.data ? (
        <Loading what="deployments" />
      ) : list.data.length === 0 ? (
        <p class="muted">No deployments.</p>
      ) : (
        <Section title="Deployments">
          <ul class="rollouts">
            {list.data.map((d) => (
              <RolloutItem
                key={d.id}
                deployment={d}
                facts={
                  <>
                    to {d.target} · {d.devices.succeeded}/{d.devices.total} succeeded · <When at={d.createdAt} />
                  </>
                }
              >
                <TallyBar tally={d.devices} label="all phases" />
              </RolloutItem>
            ))}
          </ul>
          <Pager
            page={page}
            perPage={PER_PAGE}
            total={(page - 1) * PER_PAGE + list.data.length + (list.data.length === PER_PAGE ? 1 : 0)}
            onPage={(p) => go(status, p)}
          />
        </Section>
      )}
    </>
  );
}

function CreateDeployment({ onCancel }: { onCancel: () => void }) {
  const artifacts = useLoad(() => api<Artifact[]>('GET', '/artifacts'), []);
  const groups = useLoad(() => api<Group[]>('GET', '/groups'), []);
  const [artifact, setArtifact] = useState('');
  const [group, setGroup] = useState('');
  const [serials, setSerials] = useState('');
  const [phases, setPhases] = useState('100%');
  const [successThreshold, setSuccessThreshold] = useState('95%');
  const [maxFailures, setMaxFailures] = useState('5%');
  const [maxAttempts, setMaxAttempts] = useState('1');
  const [window, setWindow] = useState('');
  const [manual, setManual] = useState(false);
  const action = useAction();
  const submit = async () => {
    const body: Record<string, unknown> = {
      artifact,
      phases: phases
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
      successThreshold,
      maxFailures,
      maxAttempts: Number(maxAttempts),
      approval: manual ? 'manual' : 'auto',
      ...(window.trim() ? { window: window.trim() } : {}),
    };
    if (group) body.group = group;
    else {
      const ids: string[] = [];
      for (const serial of serials
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const found = await api<DevicePage>('GET', `/devices?attr.serial=${encodeURIComponent(serial)}&perPage=1`);
        const device = found.devices[0];
        if (!device) throw new Error(`no device has serial ${serial}`);
        ids.push(device.id);
      }
      if (ids.length === 0) throw new Error('choose a group, or name devices by serial');
      body.devices = ids;
    }
    const created = await api<Deployment & { excluded: { incompatible: number; notAccepted: number } }>('POST', '/deployments', body);
    navigate(href('deployments', created.id));
  };
  return (
    <form
      class="card create"
      aria-label="new deployment"
      onSubmit={(event) => {
        event.preventDefault();
        void action.run(submit);
      }}
    >
      <h2>New deployment</h2>
      <Field label="Artifact">
        <select name="artifact" required value={artifact} onChange={(e) => setArtifact(e.currentTarget.value)}>
          <option value="">choose…</option>
          {(artifacts.data ?? []).map((a) => (
            <option key={a.id} value={`${a.name}@${a.version}`}>
              {a.name} {a.version} ({a.deviceTypes.join(', ')}){a.signed ? '' : ' — unsigned'}
            </option>
          ))}
        </select>
      </Field>
      <fieldset>
        <legend>Target</legend>
        <Field label="Group">
          <select name="group" value={group} onChange={(e) => setGroup(e.currentTarget.value)}>
            <option value="">none: the devices below</option>
            {(groups.data ?? []).map((g) => (
              <option key={g.id} value={g.name}>
                {g.name} ({g.members})
              </option>
            ))}
          </select>
        </Field>
        <Field label="Devices by serial" hint="comma-separated; used when no group is chosen">
          <input name="serials" value={serials} disabled={group !== ''} onInput={(e) => setSerials(e.currentTarget.value)} />
        </Field>
      </fieldset>
      <fieldset>
        <legend>Rollout</legend>
        <Field label="Phases" hint="cumulative, e.g. canary,25%,100% or 5%,100%@2026-12-01T02:00:00Z">
          <input name="phases" required value={phases} onInput={(e) => setPhases(e.currentTarget.value)} />
        </Field>
        <Field label="Success threshold" hint="share of a phase that must succeed before the next starts">
          <input name="successThreshold" required value={successThreshold} onInput={(e) => setSuccessThreshold(e.currentTarget.value)} />
        </Field>
        <Field label="Failures that halt" hint="per phase: N% or a count">
          <input name="maxFailures" required value={maxFailures} onInput={(e) => setMaxFailures(e.currentTarget.value)} />
        </Field>
        <Field label="Attempts per device">
          <input
            name="maxAttempts"
            type="number"
            min={1}
            max={10}
            required
            value={maxAttempts}
            onInput={(e) => setMaxAttempts(e.currentTarget.value)}
          />
        </Field>
        <Field label="Maintenance window" hint="optional: cron/duration/time zone, e.g. 0 2 * * */4h/Europe/Berlin">
          <input name="window" value={window} onInput={(e) => setWindow(e.currentTarget.value)} />
        </Field>
        <label class="check">
          <input name="manual" type="checkbox" checked={manual} onChange={(e) => setManual(e.currentTarget.checked)} /> Each phase waits for
          approval
        </label>
      </fieldset>
      <ErrorLine error={action.error ?? artifacts.error ?? groups.error} />
      <div class="actions">
        <button type="submit" class="primary" disabled={action.busy}>
          Start rollout
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
