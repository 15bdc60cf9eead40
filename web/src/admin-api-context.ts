import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { AdminApi } from './admin-api';

/** The signed-in page's admin API client, for every page below the shell. */
export const AdminApiContext = createContext<AdminApi | undefined>(undefined);

export function useAdminApi(): AdminApi {
  const api = useContext(AdminApiContext);
  if (api === undefined) throw new Error('useAdminApi needs a signed-in shell above it');
  return api;
}
