// Small building blocks every page uses.
import type { ComponentChildren, JSX } from 'preact';
import type { Tally } from '../types.js';

export function ErrorLine({ error }: { error: string | null | undefined }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" aria-live="polite">
      Loading {what}…
    </p>
  );
}

const TONES: Record<string, string> = {
  accepted: 'good',
  success: 'good',
  succeeded: 'good',
  active: 'info',
  downloading: 'info',
  installing: 'info',
  rebooting: 'info',
  committing: 'info',
  pending: 'warn',
  preauthorized: 'info',
  paused: 'warn',
  halted: 'bad',
  failed: 'bad',
  failure: 'bad',
  'rolled-back': 'bad',
  rejected: 'bad',
  decommissioned: 'muted',
  aborted: 'muted',
  'already-installed': 'good',
};

export function Badge({ status }: { status: string }) {
  return <span class={`badge ${TONES[status] ?? 'muted'}`}>{status}</span>;
}

/** A time as "3 min ago", the exact UTC time on hover and for screen readers. */
export function When({ at }: { at: string | null | undefined }) {
  if (!at) return <span class="muted">never</span>;
  const seconds = Math.round((Date.now() - Date.parse(at)) / 1000);
  const text =
    Math.abs(seconds) < 60
      ? 'just now'
      : Math.abs(seconds) < 3600
        ? `${Math.round(seconds / 60)} min ago`
        : Math.abs(seconds) < 86_400
          ? `${Math.round(seconds / 3600)} h ago`
          : at.slice(0, 10);
  return (
    <time dateTime={at} title={at}>
      {text}
    </time>
  );
}

/** A rollout's devices as one bar: succeeded, failed, working, not yet started. */
export function TallyBar({ tally, label }: { tally: Tally; label: string }) {
  const total = Math.max(tally.total, 1);
  const part = (n: number) => `${(n / total) * 100}%`;
  const text = `${label}: ${tally.succeeded} of ${tally.total} succeeded, ${tally.failed} failed, ${tally.inProgress} working`;
  return (
    <div class="tally" role="img" aria-label={text} title={text}>
      <span class="ok" style={{ width: part(tally.succeeded) }} />
      <span class="bad" style={{ width: part(tally.failed) }} />
      <span class="work" style={{ width: part(tally.inProgress) }} />
    </div>
  );
}

export function Pager({ page, perPage, total, onPage }: { page: number; perPage: number; total: number; onPage: (p: number) => void }) {
  const pages = Math.max(1, Math.ceil(total / perPage));
  return (
    <nav class="pager" aria-label="pages">
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous
      </button>
      <span>
        page {page} of {pages} ({total})
      </span>
      <button type="button" disabled={page >= pages} onClick={() => onPage(page + 1)}>
        Next
      </button>
    </nav>
  );
}

export function Field({ label, children, hint }: { label: string; children: ComponentChildren; hint?: string }) {
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control is the children
    <label class="field">
      <span>{label}</span>
      {children}
      {hint ? <small class="muted">{hint}</small> : null}
    </label>
  );
}

export function Section({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card" aria-label={title}>
      <header>
        <h2>{title}</h2>
        {actions ? <div class="actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

/** A button that asks first (window.confirm), for what cannot be undone. */
export function ConfirmButton(props: JSX.ButtonHTMLAttributes<HTMLButtonElement> & { confirm: string; onConfirmed: () => void }) {
  const { confirm, onConfirmed, ...rest } = props;
  return (
    <button
      type="button"
      {...rest}
      onClick={() => {
        if (window.confirm(confirm)) onConfirmed();
      }}
    />
  );
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function identityText(identity: Record<string, string>): string {
  return Object.entries(identity)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

/** A table that scrolls sideways on a narrow screen; `headers` are its column titles, `children` its rows. */
export function Table({
  headers,
  class: className,
  children,
}: {
  headers: readonly string[];
  class?: string;
  children: ComponentChildren;
}) {
  return (
    <div class="scroll">
      <table class={className}>
        <thead>
          <tr>
            {headers.map((h) => (
              <th key={h} scope="col">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** A status filter: `statuses` with '' meaning any. */
export function StatusFilter({
  statuses,
  value,
  onChange,
}: {
  statuses: readonly string[];
  value: string;
  onChange: (status: string) => void;
}) {
  return (
    <Field label="Status">
      <select name="status" value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {statuses.map((s) => (
          <option key={s} value={s}>
            {s || 'any'}
          </option>
        ))}
      </select>
    </Field>
  );
}
