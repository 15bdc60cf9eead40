/** What went wrong with a form's last submit, announced at once to screen readers. */
export function FormError(props: { error: string | undefined }) {
  if (props.error === undefined) return null;
  return (
    <p class="error" role="alert">
      {props.error}
    </p>
  );
}
