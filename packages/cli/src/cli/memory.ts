import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Collect = (options?: { type?: 'minor' | 'major' }) => void;
let collect: Collect | null | undefined;

function collector(): Collect | null {
  if (collect === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as Collect;
    } catch {
      collect = null; // an engine without the flag: memory is then merely higher, never wrong
    }
  }
  return collect;
}

/**
 * Node's zlib hands out a fresh buffer for each output chunk, and V8 frees dead buffers only once
 * about 64 MiB of them have piled up outside its heap: on its own that pushes a gzip create or
 * verify past 100 MiB RSS. A young-generation collection every `everyBytes` of data keeps peak
 * memory flat whatever the artifact size, for a fraction of a millisecond each.
 */
export function periodicCollector(everyBytes = 8 * 1024 * 1024): (bytes: number) => void {
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < everyBytes) return;
    since = 0;
    collector()?.({ type: 'minor' });
  };
}
