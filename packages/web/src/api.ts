// The management API, as the browser calls it: same origin, the session cookie, and on every
// change the CSRF secret from its readable cookie echoed in a header (the server's double submit).

export const API = '/api/management/v1';
const CSRF_COOKIE = '__Host-slipway_csrf';
const CSRF_HEADER = 'x-slipway-csrf';

/** A refused request: the server's coded error, or a network failure as SLW_UI_NETWORK. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }

  /** One line for the screen: `SLW_…: message`. */
  get line(): string {
    return `${this.code}: ${this.message}`;
  }
}

function csrfSecret(): string {
  for (const part of document.cookie.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === CSRF_COOKIE) return value.join('=');
  }
  return '';
}

/** Called when any request answers 401: the session ended (expired, logged out elsewhere, user disabled). */
let onSessionEnded: () => void = () => {};
export function whenSessionEnds(handler: () => void): void {
  onSessionEnded = handler;
}

async function errorOf(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.code) return new ApiError(body.error.code, body.error.message ?? '', response.status);
  } catch {
    // Not the API's JSON: fall through.
  }
  return new ApiError('SLW_UI_RESPONSE', `the server answered HTTP ${response.status}`, response.status);
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers[CSRF_HEADER] = csrfSecret();
  let response: Response;
  try {
    response = await fetch(`${API}${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError('SLW_UI_NETWORK', 'the server cannot be reached', 0);
  }
  if (response.status === 401 && !path.startsWith('/auth/')) onSessionEnded();
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** Uploads a file as the request body, reporting progress (fetch cannot report upload progress). */
export function upload<T>(path: string, file: File, onProgress: (sent: number, total: number) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${API}${path}`);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.setRequestHeader('accept', 'application/json');
    xhr.setRequestHeader(CSRF_HEADER, csrfSecret());
    xhr.upload.onprogress = (event) => onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
    xhr.onerror = () => reject(new ApiError('SLW_UI_NETWORK', 'the upload broke off', 0));
    xhr.onload = () => {
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(xhr.responseText);
      } catch {
        // handled below
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(parsed as T);
      const error = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
      reject(new ApiError(error?.code ?? 'SLW_UI_RESPONSE', error?.message ?? `the server answered HTTP ${xhr.status}`, xhr.status));
    };
    xhr.send(file);
  });
}

/** The message of anything thrown, for an error line. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) return err.line;
  return err instanceof Error ? err.message : String(err);
}
