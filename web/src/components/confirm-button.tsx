import { useEffect, useRef, useState } from 'preact/hooks';

/**
 * A button for an action that cannot be undone: the first press asks, the second does it. Inline
 * rather than `window.confirm`, so it is styled, keyboard-friendly and says what will happen.
 */
export function ConfirmButton(props: { label: string; confirmLabel: string; accessibleName: string; danger?: boolean; disabled?: boolean; onConfirm: () => Promise<void> }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const confirm = useRef<HTMLButtonElement>(null);
  const start = useRef<HTMLButtonElement>(null);
  const wasAsking = useRef(false);

  useEffect(() => {
    if (asking) confirm.current?.focus();
    else if (wasAsking.current) start.current?.focus();
    wasAsking.current = asking;
  }, [asking]);

  if (!asking) {
    return (
      <button type="button" ref={start} class={props.danger === true ? 'danger-outline' : 'secondary'} disabled={props.disabled} aria-label={`${props.label} ${props.accessibleName}`} onClick={() => setAsking(true)}>
        {props.label}
      </button>
    );
  }
  return (
    <span class="confirm-group">
      <button
        type="button"
        ref={confirm}
        class={props.danger === true ? 'danger' : ''}
        disabled={busy}
        aria-label={`${props.confirmLabel} ${props.accessibleName}`}
        onClick={async (event) => {
          // The second click of a double-click on the first button lands here: it confirms nothing.
          // (`detail` counts a mouse's quick clicks; it is 0 for Enter or Space.)
          if (event.detail > 1) return;
          setBusy(true);
          try {
            await props.onConfirm();
          } finally {
            setBusy(false);
            setAsking(false);
          }
        }}
      >
        {props.confirmLabel}
      </button>
      <button type="button" class="secondary" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
