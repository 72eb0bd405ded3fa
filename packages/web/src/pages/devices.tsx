import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Badge, ErrorLine, Field, identityText, Loading, Pager, Section, StatusFilter, Table, When } from '../components/ui.js';
import { useAction, useLoad } from '../hooks.js';
import { href, navigate } from '../router.js';
import { useCan } from '../session.js';
import type { DevicePage, DeviceSummary } from '../types.js';

const PER_PAGE = 25;
const STATUSES = ['', 'pending', 'accepted', 'preauthorized', 'rejected', 'decommissioned'];

/** `serial=GW-1` searches that attribute; a bare word searches the serial. */
function attributeOf(search: string): [string, string] | null {
  const text = search.trim();
  if (!text) return null;
  const at = text.indexOf('=');
  return at > 0 ? [text.slice(0, at).trim(), text.slice(at + 1).trim()] : ['serial', text];
}

function listUrl(status: string, search: string, page: number): string {
  const q = new URLSearchParams();
  if (status) q.set('status', status);
  if (search) q.set('search', search);
  if (page > 1) q.set('page', String(page));
  const text = q.toString();
  return `${href('devices')}${text ? `?${text}` : ''}`;
}

export function Devices({ query }: { query: URLSearchParams }) {
  const status = query.get('status') ?? '';
  const search = query.get('search') ?? '';
  const page = Math.max(1, Number(query.get('page') ?? '1') || 1);
  const [draft, setDraft] = useState(search);
  const list = useLoad(
    () => {
      const q = new URLSearchParams({ page: String(page), perPage: String(PER_PAGE) });
      if (status) q.set('status', status);
      const attribute = attributeOf(search);
      if (attribute) q.set(`attr.${attribute[0]}`, attribute[1]);
      return api<DevicePage>('GET', `/devices?${q}`);
    },
    [status, search, page],
    5000,
  );
  return (
    <>
      <h1>Devices</h1>
      <form
        class="filters"
        aria-label="search"
        onSubmit={(event) => {
          event.preventDefault();
          navigate(listUrl(status, draft, 1));
        }}
      >
        <StatusFilter statuses={STATUSES} value={status} onChange={(s) => navigate(listUrl(s, search, 1))} />
        <Field label="Search" hint="a serial, or attribute=value (identity or inventory)">
          <input name="search" type="search" value={draft} onInput={(e) => setDraft(e.currentTarget.value)} />
        </Field>
        <button type="submit">Search</button>
      </form>
      <ErrorLine error={list.error} />
      {list.data ? (
        <Section title={`${list.data.total} device${list.data.total === 1 ? '' : 's'}`}>
          <DeviceTable devices={list.data.devices} onChanged={list.reload} />
          <Pager page={page} perPage={PER_PAGE} total={list.data.total} onPage={(p) => navigate(listUrl(status, search, p))} />
        </Section>
      ) : (
        <Loading what="devices" />
      )}
    </>
  );
}

export function DeviceTable({ devices, onChanged }: { devices: DeviceSummary[]; onChanged: () => void }) {
  const canAdmit = useCan('devices.admit');
  const action = useAction();
  if (devices.length === 0) return <p class="muted">No device matches.</p>;
  const decide = (id: string, decision: 'accept' | 'reject') =>
    action.run(() => api('POST', `/devices/${encodeURIComponent(id)}/${decision}`)).then(onChanged);
  return (
    <>
      <ErrorLine error={action.error} />
      <Table headers={['Identity', 'Status', 'Type', 'Last seen', ...(canAdmit ? ['Admission'] : [])]}>
        {devices.map((d) => (
          <tr key={d.id}>
            <td>
              <a href={href('devices', d.id)}>{identityText(d.identity)}</a>
            </td>
            <td>
              <Badge status={d.status} />
            </td>
            <td>{d.deviceType ?? <span class="muted">unknown</span>}</td>
            <td>
              <When at={d.lastAuthAt} />
            </td>
            {canAdmit ? (
              <td class="actions">
                {d.status === 'pending' || d.status === 'rejected' ? (
                  <button type="button" disabled={action.busy} onClick={() => decide(d.id, 'accept')}>
                    Accept <span class="sr-only">{identityText(d.identity)}</span>
                  </button>
                ) : null}
                {d.status === 'pending' ? (
                  <button type="button" disabled={action.busy} onClick={() => decide(d.id, 'reject')}>
                    Reject <span class="sr-only">{identityText(d.identity)}</span>
                  </button>
                ) : null}
              </td>
            ) : null}
          </tr>
        ))}
      </Table>
    </>
  );
}
