// `npm run gateway -- --serial GW-0001 --device-type gw-100 --server URL --ca FILE --trust root.json`:
// one simulated gateway for trying Slipway without hardware (the README's quickstart). It is the
// real bundled slipway-agent, with its A/B slots as files and the testkit's boot simulator doing
// what U-Boot does: boot the active slot, count trial boots, fall back past bootlimit, and reboot
// when the agent asks. It runs until Ctrl-C; run it again with the same --dir to power it on again.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createGateway, gatewayExists, gatewayFiles, gatewaySimulator } from './lib/simulated-gateway.mjs';

const USAGE = `Usage: npm run gateway -- --serial S --server URL --ca FILE [--trust root.json --device-type T] [options]

Runs one simulated gateway: the real slipway-agent, A/B slots as files, a simulated bootloader.

  --serial S          the gateway's identity (required)
  --server URL        the update server, e.g. https://localhost:8443 (required on the first run)
  --ca FILE           the CA that pins the server, e.g. slipway-data/tls/ca.pem (required on the first run)
  --trust FILE        the trust root the gateway is built with (required on the first run)
  --device-type T     the gateway's device type, matched against artifacts (required on the first run)
  --dir DIR           where the gateway lives (default gateways/SERIAL); an existing one is powered on again
  --poll SECONDS      how often the agent asks for a deployment (default 2)
  --help              show this help

Every non-empty slot image boots. To see an update roll back, put an executable that exits 1 into
DIR/sanity.d/ before you deploy: the agent runs it after the trial boot and goes back to the old slot.`;

function fail(message) {
  process.stderr.write(`SLW_USAGE_INVALID_OPTION: ${message}\n`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      serial: { type: 'string' },
      server: { type: 'string' },
      ca: { type: 'string' },
      trust: { type: 'string' },
      'device-type': { type: 'string' },
      dir: { type: 'string' },
      poll: { type: 'string' },
      help: { type: 'boolean' },
    },
  }).values;
} catch (err) {
  fail(err.message);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (!args.serial) fail('--serial is required');
if (!/^[A-Za-z0-9._-]{1,64}$/.test(args.serial)) fail('--serial: letters, digits, ".", "_" and "-" only');

// `npm run` starts scripts in the repository's directory; paths on the command line are the user's.
const userDir = process.env.INIT_CWD ?? process.cwd();
const fromUser = (path) => resolve(userDir, path);
const shown = (path) => relative(userDir, path) || '.';
const dir = fromUser(args.dir ?? `gateways/${args.serial}`);
const files = gatewayFiles(dir);
const tag = args.serial;
const say = (text) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${tag}: ${text}\n`);

if (!gatewayExists(dir)) {
  for (const flag of ['server', 'ca', 'trust', 'device-type'])
    if (!args[flag]) fail(`--${flag} is required to make a new gateway in ${shown(dir)}`);
  for (const flag of ['ca', 'trust'])
    if (!existsSync(fromUser(args[flag]))) {
      process.stderr.write(`SLW_IO_NOT_FOUND: --${flag} ${args[flag]} cannot be read\n`);
      process.exit(1);
    }
  const poll = args.poll === undefined ? 2 : Number(args.poll);
  if (!(poll >= 0.05 && poll <= 86400)) fail('--poll: seconds between 0.05 and 86400');
  let created;
  try {
    created = await createGateway({
      dir,
      serial: args.serial,
      deviceType: args['device-type'],
      serverUrl: args.server,
      caFile: fromUser(args.ca),
      trustRootFile: fromUser(args.trust),
      pollSeconds: poll,
    });
  } catch (err) {
    // The CLI's own coded line (key generation), or what else failed as an internal error.
    const first = String(err.stderr || err.message)
      .trim()
      .split('\n')[0];
    process.stderr.write(`${/^SLW_[A-Z_]+: /.test(first) ? first : `SLW_INTERNAL_ERROR: ${first}`}\n`);
    process.exit(1);
  }
  say(`new gateway in ${shown(dir)}: slot a holds the factory image, slot b is empty`);
  say(`device key ${shown(files.publicKeyFile)}, key id ${created.keyId} (slipway devices show lists it)`);
} else if (args.server || args.ca || args.trust || args['device-type'] || args.poll) {
  say(`powering on the gateway in ${shown(dir)} as it was made (edit ${shown(files.configFile)} to change it)`);
}

// A slot boots if it holds an image at all: slot b is empty until the first update.
const EMPTY_SHA256 = createHash('sha256').digest('hex');
let bootNumber = 0;
const sim = await gatewaySimulator(files, {
  bootable: (sha256) => sha256 !== EMPTY_SHA256,
  onOutput: (text) => {
    for (const line of text.split('\n')) if (line.trim()) say(`agent: ${line}`);
  },
  onBoot: (record) => {
    bootNumber += 1;
    if (!record) return say('no slot came up: the gateway is bricked');
    sim.readEnv().then((env) => {
      const trial = env.get('upgrade_available') === '1' ? ` (trial boot ${env.get('bootcount')} of ${env.get('bootlimit')})` : '';
      say(`${bootNumber === 1 ? 'power on' : 'reboot'}: booted slot ${record.slot}${trial}, starting slipway-agent`);
    });
  },
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    say('powering off');
    sim.stop().finally(() => process.exit(0));
  });

if (!(await sim.powerOn())) {
  say('no slot came up: the gateway is bricked');
  process.exit(1);
}
