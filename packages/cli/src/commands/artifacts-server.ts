import { stat } from 'node:fs/promises';
import { fileError, SlipwayError } from '@slipway/core';
import type { Command } from '../cli/command.js';
import { progressBar } from '../cli/progress.js';
import { callServer, FileBody } from '../cli/server-client.js';
import { TARGET, target } from '../cli/server-target.js';
import { positional, stringOption } from '../cli/values.js';

interface ArtifactSummary {
  id: string;
  name: string;
  version: string;
  securityVersion: number;
  payloadType: string;
  deviceTypes: string[];
  payloads: { name: string; size: number; uncompressedSize: number; compression: string; sha256: string }[];
  signed: boolean;
  signedBy: string[];
  rootVersion: number | null;
  size: number;
  sha256: string;
  expiresAt: string | null;
  uploadedAt: string;
}

const signature = (a: ArtifactSummary) =>
  a.signed ? `signed by ${a.signedBy.length} release key(s) under root v${a.rootVersion}` : 'UNSIGNED (development mode)';

export const artifactsUpload: Command = {
  path: ['artifacts', 'upload'],
  summary: 'Upload a signed artifact to the server, which verifies it before keeping it',
  positionals: [{ name: 'ARTIFACT', description: 'the .slw file' }],
  options: TARGET,
  notes: ['The file is streamed, never read into memory; a progress bar is drawn when stderr is a terminal.'],
  async run(ctx) {
    const file = positional(ctx, 0, 'ARTIFACT');
    let size: number;
    try {
      const info = await stat(file);
      if (!info.isFile()) throw new SlipwayError('SLW_IO_NOT_A_FILE', `${file} is not a regular file`);
      size = info.size;
    } catch (err) {
      throw err instanceof SlipwayError ? err : fileError(err, file, 'read');
    }
    const bar = progressBar(ctx.out, 'uploading');
    const uploaded = (await callServer(
      await target(ctx),
      'POST',
      '/artifacts',
      new FileBody(file, size, (sent, total) => bar.update(sent, total)),
    )) as ArtifactSummary;
    bar.finish();
    ctx.out.line(`uploaded ${uploaded.name} ${uploaded.version} (${uploaded.id}): ${signature(uploaded)}`);
    ctx.out.data(uploaded);
    return 0;
  },
};

export const artifactsList: Command = {
  path: ['artifacts', 'list'],
  summary: 'List the artifacts on the server, newest first',
  options: { ...TARGET, name: { type: 'string', value: 'NAME', description: 'only artifacts of this name' } },
  async run(ctx) {
    const name = stringOption(ctx, 'name');
    const list = (await callServer(
      await target(ctx),
      'GET',
      `/artifacts${name ? `?name=${encodeURIComponent(name)}` : ''}`,
    )) as ArtifactSummary[];
    for (const a of list) {
      ctx.out.line(
        `${a.id}  ${`${a.name} ${a.version}`.padEnd(32)} ${a.deviceTypes.join(',').padEnd(20)} ${a.signed ? 'signed' : 'UNSIGNED'}`,
      );
    }
    ctx.out.data(list);
    return 0;
  },
};

export const artifactsShow: Command = {
  path: ['artifacts', 'show'],
  summary: 'Show one artifact: version, device types, payloads, signatures',
  positionals: [{ name: 'ID', description: 'the artifact id from artifacts list' }],
  options: TARGET,
  async run(ctx) {
    const a = (await callServer(await target(ctx), 'GET', `/artifacts/${encodeURIComponent(positional(ctx, 0, 'ID'))}`)) as ArtifactSummary;
    ctx.out.line(`artifact  ${a.name} ${a.version} (${a.id})`);
    ctx.out.line(`security  ${a.securityVersion}  type ${a.payloadType}  devices ${a.deviceTypes.join(', ')}`);
    ctx.out.line(`signature ${signature(a)}${a.signedBy.length ? `: ${a.signedBy.join(', ')}` : ''}`);
    ctx.out.line(`file      ${a.size} bytes, sha256 ${a.sha256}`);
    for (const p of a.payloads) ctx.out.line(`payload   ${p.name} ${p.uncompressedSize} bytes (${p.compression}) sha256 ${p.sha256}`);
    if (a.expiresAt) ctx.out.line(`expires   ${a.expiresAt}`);
    ctx.out.data(a);
    return 0;
  },
};

export const artifactsDelete: Command = {
  path: ['artifacts', 'delete'],
  summary: 'Delete an artifact from the server',
  positionals: [{ name: 'ID', description: 'the artifact id' }],
  options: TARGET,
  async run(ctx) {
    const id = positional(ctx, 0, 'ID');
    await callServer(await target(ctx), 'DELETE', `/artifacts/${encodeURIComponent(id)}`);
    ctx.out.line(`deleted ${id}`);
    ctx.out.data({ id, deleted: true });
    return 0;
  },
};
