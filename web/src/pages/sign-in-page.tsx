import { useState } from 'preact/hooks';
import { signIn, type Session } from '../admin-api';

/**
 * Sign-in with the master key. The key is posted once to /dashboard/api/session and dropped from
 * the page's state at once; the relay answers with an HttpOnly session cookie. The form posts (never
 * GET), so even without JavaScript the key could not end up in a URL.
 */
export function SignInPage(props: { notice: string | undefined; onSignedIn: (session: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const session = await signIn(key);
      setKey('');
      props.onSignedIn(session);
    } catch (caught) {
      setError((caught as Error).message);
      setBusy(false);
    }
  };

  return (
    <main class="sign-in" id="main">
      <h1>Relay dashboard</h1>
      <p>Sign in with the relay’s master key (RELAY_MASTER_KEY, or data/master.key on a first run).</p>
      {props.notice !== undefined && <p class="notice" role="status">{props.notice}</p>}
      <form method="post" onSubmit={submit}>
        <label for="master-key">Master key</label>
        <input
          id="master-key"
          name="master-key"
          type="password"
          autocomplete="current-password"
          spellcheck={false}
          required
          value={key}
          onInput={(event) => setKey(event.currentTarget.value)}
          aria-describedby={error === undefined ? undefined : 'sign-in-error'}
          aria-invalid={error === undefined ? undefined : true}
        />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error !== undefined && (
          <p id="sign-in-error" class="error" role="alert">
            {error}
          </p>
        )}
      </form>
      <p class="hint">The session lasts 12 hours and ends when you sign out.</p>
    </main>
  );
}
