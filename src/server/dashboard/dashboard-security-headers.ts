/**
 * Headers on every dashboard response. The Content-Security-Policy lets the page load scripts,
 * styles, images and fonts only from the relay itself and talk only to it: no inline script, no
 * third-party host, no framing (clickjacking), no `<base>` or plugin tricks. The app is built to
 * need nothing more (Vite emits external files, uPlot styles elements through the CSSOM).
 */
export const dashboardContentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const dashboardSecurityHeaders: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': dashboardContentSecurityPolicy,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
});
