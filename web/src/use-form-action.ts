import { useState } from 'preact/hooks';

/**
 * A form's submit as most admin forms need it: the page stays (no navigation), the button is busy
 * while the action runs, and a failure's message is kept to show beside the form.
 */
export function useFormAction(): { busy: boolean; error: string | undefined; submit: (action: () => Promise<void>) => (event: Event) => Promise<void> } {
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = (action: () => Promise<void>) => async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (caught) {
      setError((caught as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, submit };
}
