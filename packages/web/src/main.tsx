import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, whenSessionEnds } from './api.js';
import { Layout } from './components/layout.js';
import { Login } from './pages/login.js';
import { Page } from './pages/page.js';
import { useRoute } from './router.js';
import { SessionContext } from './session.js';
import type { Session } from './types.js';
import './styles.css';

interface WhoAmI {
  kind: string;
  name: string;
  role: string;
  permissions: string[];
}

async function currentSession(): Promise<Session | null> {
  try {
    const me = await api<WhoAmI>('GET', '/auth/whoami');
    return { name: me.name, role: me.role, permissions: new Set(me.permissions) };
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const route = useRoute();
  const refresh = () =>
    currentSession().then(
      (s) => {
        setSession(s);
        setError(null);
      },
      (err: unknown) => setError(err instanceof ApiError ? err.line : String(err)),
    );
  useEffect(() => {
    whenSessionEnds(() => setSession(null));
    void refresh();
  }, []);
  if (session === undefined) {
    return <main class="center">{error ? <p class="error">{error}</p> : <p class="muted">Loading…</p>}</main>;
  }
  if (session === null) return <Login onLoggedIn={() => void refresh()} />;
  return (
    <SessionContext.Provider value={session}>
      <Layout
        route={route}
        onLogout={async () => {
          await api('POST', '/auth/logout').catch(() => undefined);
          setSession(null);
        }}
      >
        <Page route={route} />
      </Layout>
    </SessionContext.Provider>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
