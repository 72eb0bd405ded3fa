// Payload generation and page-cache warming.
import { randomFillSync } from 'node:crypto';
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';

const BLOCK = 16 * 1024 * 1024;
const PAGE = 4096;

/**
 * Writes `mib` MiB to `path` in 16 MiB blocks.
 *
 * - `random`: crypto random bytes; no codec can shrink them (the worst case for create time).
 * - `mixed`: a stand-in for a filesystem image. Every 4 KiB page is, in turn, zeros (1 in 5),
 *   low-entropy bytes (16 symbols, 2 in 5) or random bytes (2 in 5), so it compresses to about
 *   70% with gzip and zstd alike. Redundancy sits inside each page on purpose: a payload made of a
 *   repeated 1 MiB random block would only shrink for zstd (whose window spans the repeat) and look
 *   incompressible to gzip (32 KiB window), which would compare the codecs' windows, not their speed.
 */
export function generatePayload(path, mib, kind) {
  const buf = Buffer.allocUnsafeSlow(BLOCK);
  const words = new Uint32Array(buf.buffer, buf.byteOffset, BLOCK / 4);
  const fd = openSync(path, 'w');
  try {
    let left = mib * 1024 * 1024;
    let page = 0;
    while (left > 0) {
      const n = Math.min(BLOCK, left);
      randomFillSync(buf, 0, n);
      if (kind === 'mixed') {
        for (let off = 0; off < n; off += PAGE, page++) {
          const k = page % 5;
          if (k === 0) buf.fill(0, off, off + PAGE);
          else if (k <= 2) {
            for (let w = off / 4, end = (off + PAGE) / 4; w < end; w++) words[w] = (words[w] & 0x0f0f0f0f) | 0x60606060;
          }
        }
      }
      let written = 0;
      while (written < n) written += writeSync(fd, buf, written, n - written);
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
}

/** Reads a file once so every timed command starts with it in the page cache. */
export function warmFile(path) {
  const buf = Buffer.allocUnsafeSlow(BLOCK);
  const fd = openSync(path, 'r');
  try {
    while (readSync(fd, buf, 0, BLOCK, null) > 0) {
      // discard
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes and deletes a scratch file of `mib` MiB (no fsync, so no disk I/O) to fault in the memory
 * the page cache will use for the artifacts. On a VM the first write into never-touched guest memory
 * costs about 3x the kernel time of later ones (measured: 3 GiB took 6.4 s, then 2.2 s), which
 * otherwise lands on whichever timed command writes first.
 */
export function primePageCache(path, mib) {
  const buf = Buffer.alloc(BLOCK);
  const fd = openSync(path, 'w');
  try {
    for (let left = mib * 1024 * 1024; left > 0; left -= BLOCK) writeSync(fd, buf, 0, Math.min(BLOCK, left));
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
}
