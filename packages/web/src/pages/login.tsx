import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorLine, Field } from '../components/ui.js';
import { useAction } from '../hooks.js';

export function Login({ onLoggedIn }: { onLoggedIn: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction();
  return (
    <main class="center">
      <form
        class="card login"
        aria-label="log in"
        onSubmit={async (event) => {
          event.preventDefault();
          // The server sets the session cookie (HttpOnly) and the CSRF cookie; the token in the body is not kept.
          if (await action.run(() => api('POST', '/auth/login', { username, password }))) onLoggedIn();
        }}
      >
        <h1>Slipway</h1>
        <Field label="User name">
          <input name="username" autocomplete="username" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
        </Field>
        <Field label="Password">
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </Field>
        <ErrorLine error={action.error} />
        <button type="submit" class="primary" disabled={action.busy}>
          Log in
        </button>
      </form>
    </main>
  );
}
