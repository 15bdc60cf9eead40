/** A loading note, or an error the user should read at once (role="alert"), for a page section. */
export function StatusLine(props: { loading: boolean; error: string | undefined; hasData: boolean }) {
  if (props.error !== undefined) {
    return (
      <p class="error" role="alert">
        {props.error}
      </p>
    );
  }
  if (props.loading && !props.hasData) return <p class="muted">Loading…</p>;
  return null;
}
