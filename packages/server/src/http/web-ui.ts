import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { lstat, readdir, readFile, realpath } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

/** The UI is a few hundred KB; anything this large is not part of it. */
export const MAX_WEB_FILE_BYTES = 5 * 1024 * 1024;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

/** Sent with every UI response: the UI loads only its own files and talks only to its own origin. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
    "manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};
const NO_CACHE = 'no-cache';
// Vite puts a content hash in every asset's name, so an asset never changes under its name.
const IMMUTABLE = 'public, max-age=31536000, immutable';

interface WebFile {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

/** The built UI, read once: paths relative to its directory ('index.html', 'assets/app-1a2b.js'). */
export type WebFiles = ReadonlyMap<string, WebFile>;

/** The @slipway/web package's dist directory; null when that package is not installed. */
export function defaultWebDir(): string | null {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('@slipway/web/package.json')), 'dist', 'ui');
  } catch {
    return null;
  }
}

/**
 * Reads the whole UI into memory at start. Only what is read here is ever served, so no request
 * path reaches the file system (no traversal, no file swapped in later). Symbolic links and
 * files over 5 MiB are skipped. Null, after one warning, when the directory has no index.html.
 */
export async function loadWebUi(dir: string, logger: Logger): Promise<WebFiles | null> {
  const files = new Map<string, WebFile>();
  let root: string;
  try {
    root = await realpath(dir);
    await walk(root, '', files, logger);
  } catch (err) {
    if (!['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  }
  if (!files.has('index.html')) {
    logger.warn(`web UI not found in ${dir} (run npm run build)`);
    return null;
  }
  return files;
}

async function walk(root: string, relative: string, into: Map<string, WebFile>, logger: Logger): Promise<void> {
  const entries: Dirent[] = await readdir(join(root, relative), { withFileTypes: true });
  for (const entry of entries) {
    const path = relative ? `${relative}/${entry.name}` : entry.name;
    if (entry.isDirectory()) await walk(root, path, into, logger);
    else if (entry.isFile()) {
      // lstat again: a Dirent is a snapshot, and a symbolic link is never followed.
      const stat = await lstat(join(root, path));
      if (!stat.isFile()) continue;
      if (stat.size > MAX_WEB_FILE_BYTES) {
        logger.warn({ file: path, bytes: stat.size }, 'web UI: file skipped, larger than 5 MiB');
        continue;
      }
      const body = await readFile(join(root, path));
      const etag = `"${createHash('sha256').update(body).digest('base64url')}"`;
      into.set(path, { body, etag, contentType: CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream' });
    }
  }
}

/** Serves the UI at / (index.html, never cached without asking) and /assets/* (cached for good). */
export async function webUi(app: FastifyInstance, { files }: { files: WebFiles }) {
  const index = (request: FastifyRequest, reply: FastifyReply) => send(reply, request, files.get('index.html'), NO_CACHE);
  // Read before anyone logs in; they hold no data (the UI fetches that from the management API).
  app.get('/', { schema: { hide: true } }, index);
  app.get('/index.html', { schema: { hide: true } }, index);
  app.get('/assets/*', { schema: { hide: true } }, (request, reply) =>
    send(reply, request, files.get(`assets/${(request.params as { '*': string })['*']}`), IMMUTABLE),
  );
}

function send(reply: FastifyReply, request: FastifyRequest, file: WebFile | undefined, cacheControl: string) {
  if (!file) return reply.callNotFound();
  void reply.headers({ ...SECURITY_HEADERS, 'cache-control': cacheControl, etag: file.etag });
  if (matches(request.headers['if-none-match'], file.etag)) return reply.status(304).send();
  return reply.type(file.contentType).send(file.body);
}

function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === etag;
  });
}
