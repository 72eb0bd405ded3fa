import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { opensslIssue, opensslSelfSigned } from './openssl-certificate.js';

const MOSQUITTO = '/usr/sbin/mosquitto';

export interface MosquittoOptions {
  /** Serve MQTT over TLS with a CA made for the test. */
  readonly tls?: boolean;
  /** With tls: every client must present a certificate from that CA (its CN becomes its user name). */
  readonly requireCertificate?: boolean;
}

export interface RunningMosquitto {
  readonly url: string;
  readonly port: number;
  /** With tls: the CA (PEM) that issued the broker's certificate, and issues client certificates. */
  readonly ca: string | null;
  /** With tls: a client certificate and key from the broker's CA, for `cn`; for the key in `keyFile` when given. */
  clientCertificate(cn: string, keyFile?: string): Promise<{ cert: string; key: string }>;
  /** Stops the broker (SIGKILL: a crash, as far as clients can tell). */
  kill(): Promise<void>;
  /** Starts it again on the same port, after kill(). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A Mosquitto broker of the test's own (Debian's mosquitto binary), on a free loopback port, so
 * a test can use TLS, client certificates, and kill and restart the broker. Fails loudly when the
 * binary is missing: CI installs it.
 */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<RunningMosquitto> {
  if (!existsSync(MOSQUITTO)) throw new Error(`${MOSQUITTO} is missing: apt-get install mosquitto`);
  const dir = await mkdtemp(join(tmpdir(), 'slipway-mosquitto-'));
  const port = await freePort();
  // Started as root, mosquitto would switch to its own user, which cannot read the test's key files.
  const lines = [
    `user ${userInfo().username}`,
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence false',
    'log_dest stderr',
  ];
  let ca: string | null = null;
  if (options.tls) {
    opensslSelfSigned({ keyOut: join(dir, 'ca-key.pem'), certOut: join(dir, 'ca.pem'), subject: '/CN=Test MQTT CA' });
    opensslIssue({
      caCert: join(dir, 'ca.pem'),
      caKey: join(dir, 'ca-key.pem'),
      keyOut: join(dir, 'broker-key.pem'),
      certOut: join(dir, 'broker.pem'),
      subject: '/CN=localhost',
      subjectAltName: 'DNS:localhost,IP:127.0.0.1',
    });
    ca = await readFile(join(dir, 'ca.pem'), 'utf8');
    lines.push(
      `cafile ${join(dir, 'ca.pem')}`,
      `certfile ${join(dir, 'broker.pem')}`,
      `keyfile ${join(dir, 'broker-key.pem')}`,
      'tls_version tlsv1.2',
    );
    if (options.requireCertificate) lines.push('require_certificate true', 'use_identity_as_username true');
  }
  const configFile = join(dir, 'mosquitto.conf');
  await writeFile(configFile, `${lines.join('\n')}\n`);

  let child: ChildProcess | null = null;
  let log = '';
  const launch = async () => {
    const started = spawn(MOSQUITTO, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    started.stderr?.on('data', (d: Buffer) => {
      log = (log + d.toString('utf8')).slice(-4000);
    });
    child = started;
    const deadline = Date.now() + 10_000;
    while (!(await portOpen(port))) {
      if (started.exitCode !== null) throw new Error(`mosquitto exited (${started.exitCode}): ${log}`);
      if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port} within 10 s: ${log}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const kill = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    url: `${options.tls ? 'mqtts' : 'mqtt'}://localhost:${port}`,
    port,
    ca,
    async clientCertificate(cn: string, keyFile?: string) {
      const keyOut = keyFile ?? join(dir, `${cn}-key.pem`);
      const certOut = join(dir, `${cn}.pem`);
      const ca = { caCert: join(dir, 'ca.pem'), caKey: join(dir, 'ca-key.pem') };
      opensslIssue({ ...ca, keyOut, certOut, subject: `/CN=${cn}`, ...(keyFile ? { keyIn: keyFile } : {}) });
      return { cert: await readFile(certOut, 'utf8'), key: await readFile(keyOut, 'utf8') };
    },
    kill,
    restart: launch,
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` (a service the test needs). */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}
