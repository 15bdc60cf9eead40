import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { AdminApi, restoreSession, type Session } from './admin-api';
import { AdminApiContext } from './admin-api-context';
import { AnnouncerContext } from './announcer';
import { PageErrorBoundary } from './components/page-error-boundary';
import { AccountsPage } from './pages/accounts-page';
import { CanaryPage } from './pages/canary-page';
import { KeysPage } from './pages/keys-page';
import { OverviewPage } from './pages/overview-page';
import { SignInPage } from './pages/sign-in-page';
import { UpstreamsPage } from './pages/upstreams-page';
import { UsagePage } from './pages/usage-page';
import { pages, useRoute, type PageName } from './use-route';

const pageComponents: Record<PageName, () => preact.JSX.Element> = {
  overview: OverviewPage,
  keys: KeysPage,
  accounts: AccountsPage,
  usage: UsagePage,
  upstreams: UpstreamsPage,
  canary: CanaryPage,
};

/**
 * The dashboard: sign-in until the relay confirms a session, then the shell (menu, live region,
 * sign-out) around the current page. The page holds only the session's CSRF token; the session
 * itself is an HttpOnly cookie the page cannot read.
 */
export function App() {
  const [session, setSession] = useState<Session | undefined | 'checking'>('checking');
  const [signInNotice, setSignInNotice] = useState<string | undefined>(undefined);
  const [announcement, setAnnouncement] = useState('');
  const [page, navigate] = useRoute();
  const heading = useRef<HTMLHeadingElement>(null);
  const firstRender = useRef(true);

  useEffect(() => {
    restoreSession()
      .then((restored) => setSession(restored))
      .catch((error: Error) => {
        setSignInNotice(error.message);
        setSession(undefined);
      });
  }, []);

  const api = useMemo(
    () =>
      typeof session === 'object'
        ? new AdminApi(session, (reason) => {
            setSignInNotice(reason);
            setSession(undefined);
          })
        : undefined,
    [session],
  );

  const announce = useMemo(
    () => (message: string) => {
      // Clearing first makes the same message heard again when it repeats.
      setAnnouncement('');
      requestAnimationFrame(() => setAnnouncement(message));
    },
    [],
  );

  const title = pages.find((candidate) => candidate.name === page)?.title ?? 'Overview';
  useEffect(() => {
    document.title = `${title} · Relay dashboard`;
    // What an action said belongs to the page it was done on.
    setAnnouncement('');
    // After a menu click, move focus to the new page's heading, as a full page load would.
    if (firstRender.current) firstRender.current = false;
    else heading.current?.focus();
  }, [title]);

  if (session === 'checking') return <p class="loading-page">Loading…</p>;
  if (session === undefined || api === undefined) {
    return (
      <SignInPage
        notice={signInNotice}
        onSignedIn={(started) => {
          setSignInNotice(undefined);
          setSession(started);
        }}
      />
    );
  }

  const Page = pageComponents[page];
  return (
    <AdminApiContext.Provider value={api}>
      <AnnouncerContext.Provider value={announce}>
        <a class="skip-link" href="#main">
          Skip to content
        </a>
        <header class="top-bar">
          <span class="brand">Relay</span>
          <nav aria-label="Dashboard">
            <ul>
              {pages.map((candidate) => (
                <li key={candidate.name}>
                  <a
                    href={candidate.path}
                    aria-current={candidate.name === page ? 'page' : undefined}
                    onClick={(event) => {
                      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
                      event.preventDefault();
                      navigate(candidate.name);
                    }}
                  >
                    {candidate.title}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          <button
            type="button"
            class="secondary sign-out"
            onClick={async () => {
              try {
                await api.signOut();
              } catch (error) {
                // The cookie still opens the admin API: saying "Signed out" would leave it open unawares.
                announce(`Signing out failed: ${(error as Error).message.replace(/\.?$/, '.')} You are still signed in.`);
                return;
              }
              setSignInNotice('Signed out.');
              setSession(undefined);
            }}
          >
            Sign out
          </button>
        </header>
        <main id="main">
          <h1 ref={heading} tabIndex={-1}>
            {title}
          </h1>
          <p class="announcement" role="status" aria-live="polite">
            {announcement}
          </p>
          <PageErrorBoundary key={page}>
            <Page />
          </PageErrorBoundary>
        </main>
      </AnnouncerContext.Provider>
    </AdminApiContext.Provider>
  );
}
