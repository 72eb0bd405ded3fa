import type { Readable, Writable } from 'node:stream';

/** An upload being received: written to local staging, verified there, then committed or discarded. */
export interface StagedUpload {
  /** A local file holding the bytes so far (verification reads it). */
  readonly path: string;
  readonly sink: Writable;
  /** Keeps the verified bytes under their SHA-256; returns the storage key. */
  commit(sha256: string): Promise<string>;
  discard(): Promise<void>;
}

/**
 * Where artifact files live. The filesystem store is the default; an S3-compatible store can
 * implement the same interface (staging stays local: an artifact is verified before it is kept)
 * and may later hand devices pre-signed URLs instead of streaming through the server.
 */
export interface ArtifactStore {
  stage(): Promise<StagedUpload>;
  /** Bytes `start` to `end` inclusive (HTTP Range semantics), or the whole file. */
  read(key: string, range?: { start: number; end: number }): Readable;
  remove(key: string): Promise<void>;
}
