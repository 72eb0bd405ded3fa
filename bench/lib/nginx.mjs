// nginx as a baseline for file downloads: found (or installed with apt-get), run as a child of the
// benchmark with a config of its own in a temporary directory, on a free loopback port, stopped at exit.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { which } from './measure.mjs';

const running = new Set();
process.on('exit', () => {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
});

const find = () => which('nginx') ?? (existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : null);

/** The path of nginx, installed with apt-get when missing (as ensureWrk does for wrk); throws when impossible. */
export function ensureNginx(log) {
  const found = find();
  if (found) return found;
  log('nginx is missing: apt-get install -y nginx');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '-qq', 'nginx'], { stdio: 'ignore', env, timeout: 300_000 });
  if (install().status !== 0) {
    log('install failed; apt-get update and retry');
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env, timeout: 300_000 });
    install();
  }
  const path = find();
  if (!path) throw new Error('nginx is not installed and apt-get could not install it');
  return path;
}

export function nginxVersion(bin) {
  return `${spawnSync(bin, ['-v'], { encoding: 'utf8', timeout: 10_000 }).stderr}`.trim().replace(/^nginx version: /, '');
}

/**
 * nginx's stock settings for static files over TLS (sendfile on, which TLS turns into read + SSL_write
 * without kTLS; default buffers), one process serving `root`, with the same certificate and key as
 * our server and the same TLS floor. Everything nginx writes goes to `dir`.
 */
function config({ dir, root, cert, key, port }) {
  const q = (p) => JSON.stringify(p);
  return `daemon off;
master_process off;
worker_processes 1;
pid ${q(join(dir, 'nginx.pid'))};
error_log ${q(join(dir, 'error.log'))} warn;
events { worker_connections 64; }
http {
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  access_log off;
  client_body_temp_path ${q(join(dir, 'client-body'))};
  proxy_temp_path ${q(join(dir, 'proxy'))};
  fastcgi_temp_path ${q(join(dir, 'fastcgi'))};
  uwsgi_temp_path ${q(join(dir, 'uwsgi'))};
  scgi_temp_path ${q(join(dir, 'scgi'))};
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${q(cert)};
    ssl_certificate_key ${q(key)};
    ssl_protocols TLSv1.2 TLSv1.3;
    root ${q(root)};
  }
}
`;
}

function portOpen(port) {
  return new Promise((resolvePromise) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', () => resolvePromise(false));
  });
}

/**
 * Starts nginx serving the files under `root` on 127.0.0.1:`port`; resolves { url, pid, stop } once
 * the port accepts connections, rejects (with nginx's error log) if it exits or does not come up in 10 s.
 */
export async function startNginx(bin, { dir, root, cert, key, port }) {
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, config({ dir, root, cert, key, port }));
  // -e: the error log before the config is read (else the compiled-in /var/log/nginx/error.log).
  const child = spawn(bin, ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4096);
  });
  const stop = () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${stderr.trim()}`);
    if (await portOpen(port)) return { url: `https://localhost:${port}`, pid: child.pid, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  stop();
  throw new Error(`nginx did not listen on 127.0.0.1:${port} within 10 s: ${stderr.trim()}`);
}
