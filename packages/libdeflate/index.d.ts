export interface LibdeflateBinding {
  /**
   * Compresses all of `input` into one gzip member in `output` on libuv's thread pool. Resolves to
   * the bytes written, or 0 when they did not fit. Level 0 writes stored blocks; 1-12 compress.
   * With `storeIncompressible`, a block whose samples (4 x 4 KiB at level 1) do not shrink below
   * 97 % is stored instead. Neither buffer may be touched until the promise settles.
   */
  gzip(input: Uint8Array, output: Uint8Array, level: number, storeIncompressible?: boolean): Promise<number>;
  /** An output size that always suffices for `length` input bytes at any level. */
  gzipBound(length: number): number;
}

/** The binding, or null when it was not built on this machine (gzip then uses zlib). */
export declare const libdeflate: LibdeflateBinding | null;
