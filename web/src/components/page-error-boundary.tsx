import { Component, type ComponentChildren } from 'preact';

interface PageErrorBoundaryState {
  error: Error | undefined;
}

/**
 * Keeps one page's rendering error inside that page. Preact unmounts the whole tree on an error no
 * component catches, which blanked the dashboard (menu and sign-out included) for a value one page
 * did not expect. The page says what failed instead, and the menu still leads to the others; the
 * shell keys this boundary by page, so another page starts afresh.
 */
export class PageErrorBoundary extends Component<{ children: ComponentChildren }, PageErrorBoundaryState> {
  override state: PageErrorBoundaryState = { error: undefined };

  static override getDerivedStateFromError(error: unknown): PageErrorBoundaryState {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override componentDidCatch(error: unknown) {
    // The console keeps the stack, for a bug report.
    console.error(error);
  }

  override render() {
    if (this.state.error === undefined) return this.props.children;
    return (
      <section class="card">
        <p class="error" role="alert">
          This page could not be shown: {this.state.error.message}
        </p>
        <button type="button" class="secondary" onClick={() => this.setState({ error: undefined })}>
          Try again
        </button>
      </section>
    );
  }
}
