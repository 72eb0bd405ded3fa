import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorLine, Field, Loading, Section, Table } from '../components/ui.js';
import { useAction, useLoad } from '../hooks.js';
import { useRoute } from '../router.js';
import type { AuditEntry, AuditVerdict } from '../types.js';

const PAGE = 50;

interface Filters {
  action: string;
  actor: string;
  target: string;
  severity: string;
}

function query(filters: Filters, before: number | null): string {
  const q = new URLSearchParams({ order: 'desc', limit: String(PAGE) });
  for (const [key, value] of Object.entries(filters)) if (value.trim()) q.set(key, value.trim());
  if (before !== null) q.set('before', String(before));
  return q.toString();
}

export function Audit() {
  const route = useRoute();
  const [draft, setDraft] = useState<Filters>({ action: '', actor: '', target: '', severity: route.query.get('severity') ?? '' });
  const [filters, setFilters] = useState<Filters>(draft);
  const [older, setOlder] = useState<AuditEntry[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const verdict = useLoad(() => api<AuditVerdict>('GET', '/audit/verify'), [], 30_000);
  const first = useLoad(async () => {
    const page = await api<{ entries: AuditEntry[]; next: number | null }>('GET', `/audit/entries?${query(filters, null)}`);
    setOlder([]);
    setNext(page.next);
    return page.entries;
  }, [filters]);
  const more = useAction();
  const entries = [...(first.data ?? []), ...older];
  const set = (key: keyof Filters) => (e: { currentTarget: HTMLInputElement | HTMLSelectElement }) =>
    setDraft({ ...draft, [key]: e.currentTarget.value });
  return (
    <>
      <h1>Audit log</h1>
      <Section title="Chain">
        {verdict.data ? (
          verdict.data.ok ? (
            <p class="ok" role="status">
              Intact: {verdict.data.entries} entries, each chained to the one before. Head {verdict.data.headSeq}{' '}
              <code title={verdict.data.headHash}>{verdict.data.headHash.slice(0, 16)}</code> — compare it with an export kept off the
              server.
            </p>
          ) : (
            <p class="error" role="alert">
              BROKEN at entry {verdict.data.firstBadSeq}: {verdict.data.reason}
            </p>
          )
        ) : (
          <ErrorLine error={verdict.error} />
        )}
      </Section>
      <form
        class="filters"
        aria-label="search"
        onSubmit={(event) => {
          event.preventDefault();
          setFilters(draft);
        }}
      >
        <Field label="Action" hint="a prefix: device., deployment.abort">
          <input name="action" value={draft.action} onInput={set('action')} />
        </Field>
        <Field label="Actor id">
          <input name="actor" value={draft.actor} onInput={set('actor')} />
        </Field>
        <Field label="Target">
          <input name="target" value={draft.target} onInput={set('target')} />
        </Field>
        <Field label="Severity">
          <select name="severity" value={draft.severity} onChange={set('severity')}>
            <option value="">any entry</option>
            <option value="any">security events</option>
            <option value="warning">warning</option>
            <option value="critical">critical</option>
          </select>
        </Field>
        <button type="submit">Filter</button>
      </form>
      <ErrorLine error={first.error ?? more.error} />
      {!first.data ? (
        <Loading what="the audit log" />
      ) : (
        <Section title="Entries, newest first">
          <Table headers={['#', 'When', 'Actor', 'Action', 'Target', 'Outcome', 'Details']} class="audit">
            {entries.map((e) => (
              <tr key={e.seq}>
                <td>{e.seq}</td>
                <td>
                  <time dateTime={e.at}>{e.at.replace('T', ' ').slice(0, 19)}</time>
                </td>
                <td>
                  {e.actorType}
                  {e.actorId ? `:${e.actorId.slice(0, 12)}` : ''}
                  {e.sourceIp ? <div class="muted small">{e.sourceIp}</div> : null}
                </td>
                <td>
                  <code>{e.action}</code>
                </td>
                <td class="small">{e.target ?? ''}</td>
                <td>{e.outcome}</td>
                <td class="small">{e.details ?? ''}</td>
              </tr>
            ))}
          </Table>
          {entries.length === 0 ? <p class="muted">No entry matches.</p> : null}
          {next !== null ? (
            <button
              type="button"
              disabled={more.busy}
              onClick={() =>
                void more.run(async () => {
                  const page = await api<{ entries: AuditEntry[]; next: number | null }>('GET', `/audit/entries?${query(filters, next)}`);
                  setOlder([...older, ...page.entries]);
                  setNext(page.next);
                })
              }
            >
              Older entries
            </button>
          ) : null}
        </Section>
      )}
    </>
  );
}
