import { useEffect, useRef, useState } from 'preact/hooks';

/**
 * A new key's secret, shown once: the relay stores only its hash. The secret lives in this
 * component's state and nowhere else (not in the URL, not in storage) and is gone when the panel
 * is dismissed or the page changes.
 */
export function SecretPanel(props: { title: string; secret: string; onDismiss: () => void }) {
  const [copied, setCopied] = useState<string | undefined>(undefined);
  const field = useRef<HTMLInputElement>(null);
  const panel = useRef<HTMLElement>(null);

  useEffect(() => panel.current?.focus(), []);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.secret);
      setCopied('Copied to the clipboard.');
    } catch {
      // No clipboard access (plain HTTP on another host than localhost): select it for Ctrl+C instead.
      field.current?.select();
      setCopied('Selected: press Ctrl+C (⌘C) to copy.');
    }
  };

  return (
    <section class="secret-panel" aria-labelledby="secret-title" tabIndex={-1} ref={panel}>
      <h2 id="secret-title">{props.title}</h2>
      <p>Copy this key now: it is shown only once. The relay keeps only its hash.</p>
      <div class="secret-row">
        <label class="visually-hidden" for="new-secret">
          New key
        </label>
        <input id="new-secret" ref={field} class="secret" readOnly value={props.secret} spellcheck={false} autocomplete="off" onFocus={(event) => event.currentTarget.select()} />
        <button type="button" onClick={copy}>
          Copy
        </button>
      </div>
      <p class="muted" role="status" aria-live="polite">
        {copied}
      </p>
      <button type="button" class="secondary" onClick={props.onDismiss}>
        I have stored it
      </button>
    </section>
  );
}
