import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ConfirmButton, ErrorLine, Field, identityText, Loading, Section } from '../components/ui.js';
import { useAction, useLoad } from '../hooks.js';
import { href } from '../router.js';
import { Can, useCan } from '../session.js';
import type { DevicePage, Group } from '../types.js';

/** `status=accepted, kernel=6.1` → a dynamic group's filter. */
function parseFilter(text: string): Group['filter'] {
  const filter: { status?: string; attributes?: Record<string, string> } = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const at = part.indexOf('=');
    if (at < 1) throw new Error(`"${part}": use name=value`);
    const [name, value] = [part.slice(0, at).trim(), part.slice(at + 1).trim()];
    if (name === 'status') filter.status = value;
    else filter.attributes = { ...filter.attributes, [name]: value };
  }
  return filter;
}

function filterText(filter: Group['filter']): string {
  if (!filter) return '';
  return [
    ...(filter.status ? [`status=${filter.status}`] : []),
    ...Object.entries(filter.attributes ?? {}).map(([k, v]) => `${k}=${v}`),
  ].join(', ');
}

export function Groups() {
  const groups = useLoad(() => api<Group[]>('GET', '/groups'), [], 10_000);
  const [open, setOpen] = useState<string | null>(null);
  return (
    <>
      <h1>Groups</h1>
      <Can permission="groups.write">
        <CreateGroup onCreated={groups.reload} />
      </Can>
      <ErrorLine error={groups.error} />
      {!groups.data ? (
        <Loading what="groups" />
      ) : groups.data.length === 0 ? (
        <p class="muted">No groups yet.</p>
      ) : (
        groups.data.map((g) => (
          <Section
            key={g.id}
            title={g.name}
            actions={
              <button type="button" aria-expanded={open === g.name} onClick={() => setOpen(open === g.name ? null : g.name)}>
                {open === g.name ? 'Hide' : 'Show'} members
              </button>
            }
          >
            <p>
              {g.kind === 'dynamic' ? (
                <>
                  dynamic: <code>{filterText(g.filter)}</code>
                </>
              ) : (
                'static'
              )}{' '}
              · {g.members} member{g.members === 1 ? '' : 's'}
            </p>
            {open === g.name ? <Members group={g} onChanged={groups.reload} /> : null}
          </Section>
        ))
      )}
    </>
  );
}

function CreateGroup({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [filter, setFilter] = useState('');
  const action = useAction();
  return (
    <form
      class="card inline"
      aria-label="create a group"
      onSubmit={async (event) => {
        event.preventDefault();
        const body = filter.trim() ? { name, filter: parseFilter(filter) } : { name };
        if (await action.run(() => api('POST', '/groups', body))) {
          setName('');
          setFilter('');
          onCreated();
        }
      }}
    >
      <Field label="New group">
        <input name="group" required pattern="[a-z0-9][a-z0-9._-]{0,63}" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </Field>
      <Field label="Filter (dynamic groups)" hint="e.g. status=accepted, device_type=gw-100; empty: a static group">
        <input name="filter" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
      </Field>
      <button type="submit" disabled={action.busy}>
        Create
      </button>
      <ErrorLine error={action.error} />
    </form>
  );
}

function Members({ group, onChanged }: { group: Group; onChanged: () => void }) {
  const members = useLoad(() => api<DevicePage>('GET', `/groups/${group.name}/devices?perPage=100`), [group.name, group.members]);
  const canWrite = useCan('groups.write') && group.kind === 'static';
  const action = useAction();
  const [serial, setSerial] = useState('');
  const change = (verb: 'add' | 'remove', deviceIds: string[]) =>
    action
      .run(() => api('POST', `/groups/${group.name}/${verb}`, { deviceIds }))
      .then((ok) => {
        if (ok) onChanged();
        return ok;
      });
  return (
    <>
      <ErrorLine error={members.error ?? action.error} />
      {canWrite ? (
        <form
          class="inline"
          aria-label={`add a device to ${group.name}`}
          onSubmit={async (event) => {
            event.preventDefault();
            await action.run(async () => {
              const found = await api<DevicePage>('GET', `/devices?attr.serial=${encodeURIComponent(serial)}&perPage=1`);
              const device = found.devices[0];
              if (!device) throw new Error(`no device has serial ${serial}`);
              await api('POST', `/groups/${group.name}/add`, { deviceIds: [device.id] });
            });
            setSerial('');
            onChanged();
          }}
        >
          <Field label="Add device by serial">
            <input name="serial" required value={serial} onInput={(e) => setSerial(e.currentTarget.value)} />
          </Field>
          <button type="submit" disabled={action.busy}>
            Add
          </button>
        </form>
      ) : null}
      {!members.data ? (
        <Loading what="members" />
      ) : (
        <ul class="plain">
          {members.data.devices.map((d) => (
            <li key={d.id}>
              <a href={href('devices', d.id)}>{identityText(d.identity)}</a>{' '}
              {canWrite ? (
                <button type="button" disabled={action.busy} onClick={() => change('remove', [d.id])}>
                  Remove <span class="sr-only">{identityText(d.identity)}</span>
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      <Can permission="groups.write">
        <ConfirmButton
          class="danger"
          confirm={`Delete the group ${group.name}? Its devices stay.`}
          onConfirmed={() => void action.run(() => api('DELETE', `/groups/${group.name}`)).then(onChanged)}
        >
          Delete group
        </ConfirmButton>
      </Can>
    </>
  );
}
