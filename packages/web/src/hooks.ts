import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { describeError } from './api.js';

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: string | null;
  readonly loading: boolean;
  /** Loads again now (after a change the page made). */
  readonly reload: () => void;
}

/**
 * Loads `load()` when `deps` change, and again every `pollMs` while the page is shown (live
 * rollouts): the last good data stays on screen while a reload runs or fails.
 */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[], pollMs = 0): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);
  const run = useCallback(() => {
    const mine = ++generation.current;
    setLoading(true);
    load().then(
      (value) => {
        if (mine !== generation.current) return;
        setData(value);
        setError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (mine !== generation.current) return;
        setError(describeError(err));
        setLoading(false);
      },
    );
  }, deps);
  useEffect(() => {
    setData(undefined);
    run();
    if (pollMs <= 0) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') run();
    }, pollMs);
    return () => clearInterval(timer);
  }, [run, pollMs]);
  return { data, error, loading, reload: run };
}

/** Runs an action (a button's click): busy while it runs, its error kept for the screen. */
export function useAction(): {
  busy: boolean;
  error: string | null;
  run: (action: () => Promise<unknown>) => Promise<boolean>;
  clear: () => void;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      return true;
    } catch (err) {
      setError(describeError(err));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clear: () => setError(null) };
}
