import type { Output } from './output.js';

export interface Progress {
  update(done: number, total: number): void;
  finish(): void;
}

const NO_PROGRESS: Progress = { update() {}, finish() {} };
const REDRAW_MS = 100;
const WIDTH = 28;

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

/** How a bar counts: bytes (MiB and MiB/s) or items (e.g. devices, and devices/s). */
export type ProgressUnit = 'bytes' | { readonly items: string };

/** A one-line progress bar on stderr, drawn only when stderr is a terminal. */
export function progressBar(out: Output, label: string, unit: ProgressUnit = 'bytes'): Progress {
  const amount = unit === 'bytes' ? mib : (n: number) => `${Math.round(n)} ${unit.items}`;
  if (!out.stderrIsTty) return NO_PROGRESS;
  const started = Date.now();
  let lastDraw = 0;
  const draw = (done: number, total: number) => {
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(fraction * WIDTH);
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    const rate = `${amount(done / seconds)}/s`;
    out.stderr.write(
      `\r${label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  ${amount(done)} / ${amount(total)}  ${rate}\x1b[K`,
    );
  };
  let last: [number, number] = [0, 0];
  return {
    update(done, total) {
      last = [done, total];
      const now = Date.now();
      if (now - lastDraw < REDRAW_MS) return;
      lastDraw = now;
      draw(done, total);
    },
    finish() {
      draw(last[1], last[1]);
      out.stderr.write('\n');
    },
  };
}
