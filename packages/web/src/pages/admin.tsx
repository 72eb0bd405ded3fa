import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ConfirmButton, ErrorLine, Field, Loading, Section, Table, When } from '../components/ui.js';
import { useAction, useLoad } from '../hooks.js';
import { Can, useSession } from '../session.js';
import type { Token, User } from '../types.js';

const ROLES = ['admin', 'release-manager', 'operator', 'ci', 'viewer'];

/** The roles, as the options of a select. */
function RoleOptions() {
  return ROLES.map((r) => (
    <option key={r} value={r}>
      {r}
    </option>
  ));
}

export function Admin() {
  return (
    <>
      <h1>Users and tokens</h1>
      <Users />
      <Can permission="tokens.read">
        <Tokens />
      </Can>
    </>
  );
}

function Users() {
  const users = useLoad(() => api<User[]>('GET', '/users'), []);
  const me = useSession();
  const action = useAction();
  const [form, setForm] = useState({ username: '', password: '', role: 'viewer' });
  return (
    <Section title="Users">
      <ErrorLine error={users.error ?? action.error} />
      {!users.data ? (
        <Loading what="users" />
      ) : (
        <Table headers={['User', 'Role', 'Since', 'Access']}>
          {users.data.map((u) => (
            <tr key={u.id}>
              <td>{u.username}</td>
              <td>
                <label>
                  <span class="sr-only">role of {u.username}</span>
                  <select
                    value={u.role}
                    disabled={u.disabledAt !== null || u.username === me.name || action.busy}
                    onChange={(e) =>
                      void action.run(() => api('PUT', `/users/${u.username}/role`, { role: e.currentTarget.value })).then(users.reload)
                    }
                  >
                    <RoleOptions />
                  </select>
                </label>
              </td>
              <td>
                <When at={u.createdAt} />
              </td>
              <td>
                {u.disabledAt ? (
                  <span class="badge muted">disabled</span>
                ) : u.username === me.name ? (
                  <span class="muted">you</span>
                ) : (
                  <ConfirmButton
                    class="danger"
                    confirm={`Disable ${u.username}? Every session of theirs ends at once.`}
                    onConfirmed={() => void action.run(() => api('POST', `/users/${u.username}/disable`)).then(users.reload)}
                  >
                    Disable <span class="sr-only">{u.username}</span>
                  </ConfirmButton>
                )}
              </td>
            </tr>
          ))}
        </Table>
      )}
      <form
        class="inline"
        aria-label="create a user"
        onSubmit={async (event) => {
          event.preventDefault();
          if (await action.run(() => api('POST', '/users', form))) {
            setForm({ username: '', password: '', role: 'viewer' });
            users.reload();
          }
        }}
      >
        <Field label="New user">
          <input
            name="username"
            required
            autocomplete="off"
            value={form.username}
            onInput={(e) => setForm({ ...form, username: e.currentTarget.value })}
          />
        </Field>
        <Field label="Password" hint="at least 12 characters">
          <input
            name="password"
            type="password"
            required
            autocomplete="new-password"
            value={form.password}
            onInput={(e) => setForm({ ...form, password: e.currentTarget.value })}
          />
        </Field>
        <Field label="Role">
          <select name="role" value={form.role} onChange={(e) => setForm({ ...form, role: e.currentTarget.value })}>
            <RoleOptions />
          </select>
        </Field>
        <button type="submit" disabled={action.busy}>
          Create user
        </button>
      </form>
    </Section>
  );
}

function Tokens() {
  const tokens = useLoad(() => api<Token[]>('GET', '/tokens'), []);
  const action = useAction();
  const [name, setName] = useState('');
  const [role, setRole] = useState('ci');
  const [days, setDays] = useState('90');
  const [secret, setSecret] = useState<string | null>(null);
  return (
    <Section title="API tokens">
      <ErrorLine error={tokens.error ?? action.error} />
      {secret ? (
        <div class="card secret" role="status">
          <p>The new token is shown once, now: put it into your CI system's secrets.</p>
          <code>{secret}</code>{' '}
          <button type="button" onClick={() => setSecret(null)}>
            Done
          </button>
        </div>
      ) : null}
      {!tokens.data ? (
        <Loading what="tokens" />
      ) : (
        <Table headers={['Name', 'Role', 'Expires', 'Last used', 'Revoke']}>
          {tokens.data.map((t) => (
            <tr key={t.id}>
              <td>{t.name}</td>
              <td>{t.role}</td>
              <td>{t.expiresAt ? t.expiresAt.slice(0, 10) : 'never'}</td>
              <td>
                <When at={t.lastUsedAt} />
              </td>
              <td>
                {t.revokedAt ? (
                  <span class="badge muted">revoked</span>
                ) : (
                  <ConfirmButton
                    class="danger"
                    confirm={`Revoke the token ${t.name}? Its next request is refused.`}
                    onConfirmed={() => void action.run(() => api('DELETE', `/tokens/${t.id}`)).then(tokens.reload)}
                  >
                    Revoke <span class="sr-only">{t.name}</span>
                  </ConfirmButton>
                )}
              </td>
            </tr>
          ))}
        </Table>
      )}
      <form
        class="inline"
        aria-label="create a token"
        onSubmit={async (event) => {
          event.preventDefault();
          const expiresAt = days ? new Date(Date.now() + Number(days) * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z') : undefined;
          await action.run(async () => {
            const created = await api<Token & { token: string }>('POST', '/tokens', { name, role, ...(expiresAt ? { expiresAt } : {}) });
            setSecret(created.token);
            setName('');
            tokens.reload();
          });
        }}
      >
        <Field label="New token">
          <input name="tokenName" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field label="Role">
          <select name="tokenRole" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
            <RoleOptions />
          </select>
        </Field>
        <Field label="Valid for days" hint="empty: never expires">
          <input name="days" type="number" min={1} max={3650} value={days} onInput={(e) => setDays(e.currentTarget.value)} />
        </Field>
        <button type="submit" disabled={action.busy}>
          Create token
        </button>
      </form>
    </Section>
  );
}
