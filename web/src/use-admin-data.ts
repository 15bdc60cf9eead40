import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface AdminData<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  /** When the data last arrived (epoch ms). */
  updatedAt: number | undefined;
  reload: () => Promise<void>;
}

/**
 * Loads something from the admin API when `key` changes (and every `refreshMs`, when given). An
 * answer that arrives after a newer request started is dropped, so a slow reply never overwrites
 * a fresh one.
 */
export function useAdminData<T>(load: () => Promise<T>, key: string, refreshMs?: number): AdminData<T> {
  const [state, setState] = useState<{ data: T | undefined; error: string | undefined; loading: boolean; updatedAt: number | undefined }>({
    data: undefined,
    error: undefined,
    loading: true,
    updatedAt: undefined,
  });
  const latest = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const reload = useCallback(async () => {
    const ticket = ++latest.current;
    setState((previous) => ({ ...previous, loading: true }));
    try {
      const data = await loadRef.current();
      if (ticket === latest.current) setState({ data, error: undefined, loading: false, updatedAt: Date.now() });
    } catch (error) {
      if (ticket === latest.current) setState((previous) => ({ ...previous, error: (error as Error).message, loading: false }));
    }
  }, []);

  useEffect(() => {
    void reload();
    if (refreshMs === undefined) return undefined;
    const timer = setInterval(() => {
      // Background tabs need no fresh numbers; the next visible tick catches up.
      if (document.visibilityState === 'visible') void reload();
    }, refreshMs);
    return () => clearInterval(timer);
  }, [key, refreshMs, reload]);

  return { ...state, reload };
}
