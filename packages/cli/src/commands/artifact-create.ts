import { stat } from 'node:fs/promises';
import {
  ARTIFACT_NAME_PATTERN,
  COMPRESSIONS,
  type Compression,
  createArtifact,
  DEVICE_TYPE_PATTERN,
  PAYLOAD_TYPE_PATTERN,
  SlipwayError,
  VERSION_PATTERN,
} from '@slipway/core';
import type { Command } from '../cli/command.js';
import { parseCount, parseExpiry } from '../cli/durations.js';
import { loadSigner, readInputFile } from '../cli/key-files.js';
import { periodicCollector } from '../cli/memory.js';
import { progressBar } from '../cli/progress.js';
import { flag, requiredString, shortId, stringList, stringOption } from '../cli/values.js';

async function readMetadata(path: string | undefined): Promise<Record<string, unknown> | undefined> {
  if (path === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse((await readInputFile(path)).toString('utf8'));
  } catch (err) {
    if (err instanceof SlipwayError) throw err;
    throw new SlipwayError('SLW_USAGE_INVALID_OPTION', `--metadata ${path} is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SlipwayError('SLW_USAGE_INVALID_OPTION', `--metadata ${path} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

async function assertPayloadFiles(paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    const info = await stat(path).catch(() => null);
    if (info?.isDirectory()) {
      throw new SlipwayError('SLW_IO_NOT_A_FILE', `${path} is a directory; pack it first (tar -C ${path} -cf app.tar .) and pass the tar`);
    }
  }
}

/** Names the flag and the rule, where the manifest schema alone would name a JSON pointer. */
function matching(value: string, pattern: string, flag: string, rule: string): string {
  if (!new RegExp(pattern).test(value)) throw new SlipwayError('SLW_USAGE_INVALID_OPTION', `${flag} ${JSON.stringify(value)}: ${rule}`);
  return value;
}

const NAME_RULE = 'start with a letter or digit, then letters, digits and . _ + -';

export const artifactCreate: Command = {
  path: ['artifact', 'create'],
  summary: 'Create an artifact (.slw): manifest, signature space, then the payloads, streamed from files',
  options: {
    name: { type: 'string', value: 'NAME', required: true, description: 'artifact name, e.g. gateway-os' },
    version: { type: 'string', value: 'VER', required: true, description: 'artifact version, e.g. 2.4.1' },
    'device-type': {
      type: 'string',
      multiple: true,
      required: true,
      value: 'T',
      description: 'a compatible device type (repeat per type)',
    },
    payload: { type: 'string', multiple: true, required: true, value: 'FILE', description: 'a payload file (repeat per payload)' },
    type: { type: 'string', value: 'rootfs|directory|module:NAME', description: 'payload type (default rootfs)' },
    'security-version': { type: 'string', value: 'N', description: 'anti-rollback level; devices refuse lower ones (default 0)' },
    compression: { type: 'string', value: COMPRESSIONS.join('|'), description: 'payload compression (default zstd)' },
    'compression-level': { type: 'string', value: 'N', description: 'gzip 1-9, zstd 1-19' },
    expires: { type: 'string', value: 'DURATION|TIME', description: 'optional signed expiry, e.g. 180d' },
    metadata: { type: 'string', value: 'FILE', description: 'JSON object of free-form metadata for update modules' },
    key: { type: 'string', multiple: true, value: 'K.key', description: 'sign while creating (repeat per key)' },
    'signature-space': { type: 'string', value: 'BYTES', description: 'bytes reserved for two signature slots (default 65536)' },
    out: { type: 'string', value: 'A.slw', required: true, description: 'output file' },
    force: { type: 'boolean', description: 'replace an existing output file' },
  },
  async run(ctx) {
    const compression = stringOption(ctx, 'compression') ?? 'zstd';
    if (!(COMPRESSIONS as readonly string[]).includes(compression)) {
      throw new SlipwayError('SLW_USAGE_INVALID_OPTION', `--compression ${compression}: choose one of ${COMPRESSIONS.join(', ')}`);
    }
    const payloads = stringList(ctx, 'payload');
    await assertPayloadFiles(payloads);
    const signers = await Promise.all(stringList(ctx, 'key').map((path) => loadSigner(path, ctx.env)));
    const expires = stringOption(ctx, 'expires');
    const level = stringOption(ctx, 'compression-level');
    const space = stringOption(ctx, 'signature-space');
    const out = requiredString(ctx, 'out');
    const bar = progressBar(ctx.out, 'creating');
    const collectGarbage = periodicCollector();
    let reported = 0;
    const created = await createArtifact(out, {
      name: matching(requiredString(ctx, 'name'), ARTIFACT_NAME_PATTERN, '--name', `${NAME_RULE} (at most 128)`),
      version: matching(requiredString(ctx, 'version'), VERSION_PATTERN, '--version', `${NAME_RULE} ~ (at most 64)`),
      securityVersion: parseCount(stringOption(ctx, 'security-version') ?? '0', '--security-version', 0),
      // A type given twice is the same promise twice: keep one.
      deviceTypes: [...new Set(stringList(ctx, 'device-type'))].map((t) =>
        matching(t, DEVICE_TYPE_PATTERN, '--device-type', 'start with a letter or digit, then letters, digits and . _ : - (at most 64)'),
      ),
      payloadType: matching(stringOption(ctx, 'type') ?? 'rootfs', PAYLOAD_TYPE_PATTERN, '--type', 'use rootfs, directory or module:NAME'),
      payloads: payloads.map((path) => ({ path })),
      compression: compression as Compression,
      compressionLevel: level === undefined ? undefined : parseCount(level, '--compression-level', 1, 19),
      expiresAt: expires === undefined ? undefined : parseExpiry(expires, ctx.now, '--expires'),
      metadata: await readMetadata(stringOption(ctx, 'metadata')),
      now: ctx.now,
      signers,
      signatureSpace: space === undefined ? undefined : parseCount(space, '--signature-space', 2048, 131072),
      overwrite: flag(ctx, 'force'),
      onProgress: (done, total) => {
        collectGarbage(done - reported);
        reported = done;
        bar.update(done, total);
      },
    });
    bar.finish();
    const m = created.manifest;
    ctx.out.line(`wrote ${out}: ${m.name} ${m.version} (security version ${m.securityVersion}) for ${m.deviceTypes.join(', ')}`);
    for (const p of m.payloads)
      ctx.out.line(`  ${p.name}: ${p.uncompressedSize} bytes, ${p.compression} ${p.size} bytes, sha256 ${p.sha256}`);
    ctx.out.line(
      created.signatures.length > 0
        ? `signed by ${created.signatures.map((s) => shortId(s.keyid)).join(', ')}`
        : `unsigned: next run slipway artifact sign ${out} --key RELEASE.key (or sign-request for an offline key)`,
    );
    ctx.out.data({ path: out, sizeBytes: created.sizeBytes, manifest: m, signatures: created.signatures.map((s) => s.keyid) });
    return 0;
  },
};
