import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

/**
 * Says what an action did, in the page's polite live region, so screen readers hear "Key revoked"
 * as sighted users see it.
 */
export const AnnouncerContext = createContext<(message: string) => void>(() => {});

export function useAnnouncer(): (message: string) => void {
  return useContext(AnnouncerContext);
}
