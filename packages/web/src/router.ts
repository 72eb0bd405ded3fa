// Hash routes (`#/devices/ID`): the server serves one index.html, and a reload keeps the page.
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  /** The first path segment: `devices`, `deployments` … ('' is the dashboard). */
  readonly page: string;
  /** The segments after it, decoded. */
  readonly params: readonly string[];
  readonly query: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#\/?/, '');
  const [pathname = '', search = ''] = path.split('?');
  const [page = '', ...params] = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  return { page, params, query: new URLSearchParams(search) };
}

/** The href of a route: `href('devices', id)` is `#/devices/ID`. */
export function href(...segments: (string | number)[]): string {
  return `#/${segments.map((s) => encodeURIComponent(String(s))).join('/')}`;
}

export function navigate(to: string): void {
  window.location.hash = to.replace(/^#/, '');
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const changed = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return route;
}
