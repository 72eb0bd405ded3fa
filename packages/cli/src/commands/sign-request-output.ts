import { type SignRequest, writeFileAtomic } from '@slipway/core';
import type { CommandContext, OptionSpec } from '../cli/command.js';
import { flag, requiredString } from '../cli/values.js';

/** Renders a sign-request summary for the human who is about to sign it. */
export function summaryLines(summary: Record<string, unknown>): string[] {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(summary)) {
    if (Array.isArray(value) && value.some((v) => typeof v === 'object')) {
      lines.push(`${key}:`);
      for (const item of value) lines.push(`  - ${JSON.stringify(item)}`);
    } else {
      lines.push(`${key}: ${Array.isArray(value) ? value.join(', ') : String(value)}`);
    }
  }
  return lines;
}

export const SIGN_REQUEST_OPTIONS: Record<string, OptionSpec> = {
  out: { type: 'string', value: 'req.json', required: true, description: 'where to write the sign request' },
  force: { type: 'boolean', description: 'replace an existing file' },
};

/** Writes a sign request to --out and shows what it asks to sign (shared by artifact and trust). */
export async function writeSignRequest(ctx: CommandContext, request: SignRequest): Promise<number> {
  const out = requiredString(ctx, 'out');
  await writeFileAtomic(out, `${JSON.stringify(request, null, 2)}\n`, { exclusive: !flag(ctx, 'force') });
  ctx.out.line(`wrote ${out} for:`);
  for (const line of summaryLines(request.summary)) ctx.out.line(`  ${line}`);
  ctx.out.data({ path: out, payloadSha256: request.payloadSha256, summary: request.summary });
  return 0;
}
