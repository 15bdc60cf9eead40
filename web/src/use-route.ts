import { useEffect, useState } from 'preact/hooks';

export type PageName = 'overview' | 'keys' | 'accounts' | 'usage' | 'upstreams' | 'canary';

/** The dashboard's pages, in menu order; each has a real URL, so reloads and bookmarks work. */
export const pages: ReadonlyArray<{ name: PageName; path: string; title: string }> = [
  { name: 'overview', path: '/dashboard', title: 'Overview' },
  { name: 'keys', path: '/dashboard/keys', title: 'Keys' },
  { name: 'accounts', path: '/dashboard/accounts', title: 'Accounts' },
  { name: 'usage', path: '/dashboard/usage', title: 'Usage' },
  { name: 'upstreams', path: '/dashboard/upstreams', title: 'Upstreams' },
  { name: 'canary', path: '/dashboard/canary', title: 'Canary' },
];

function pageAt(pathname: string): PageName {
  const trimmed = pathname.replace(/\/+$/, '');
  return pages.find((page) => page.path === trimmed)?.name ?? 'overview';
}

/** The current page from the URL, and a way to move to another without a reload (History API). */
export function useRoute(): [PageName, (name: PageName) => void] {
  const [page, setPage] = useState<PageName>(() => pageAt(location.pathname));
  useEffect(() => {
    const onPopState = () => setPage(pageAt(location.pathname));
    addEventListener('popstate', onPopState);
    return () => removeEventListener('popstate', onPopState);
  }, []);
  const navigate = (name: PageName) => {
    const target = pages.find((candidate) => candidate.name === name);
    if (target === undefined) return;
    if (location.pathname !== target.path) history.pushState(null, '', target.path);
    setPage(name);
  };
  return [page, navigate];
}
