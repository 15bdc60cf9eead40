import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

/**
 * The admin dashboard's build: `web/` in, `dist/web/` out, served by the relay at `/dashboard/`
 * (src/server/dashboard). Everything is bundled into hashed files the relay serves with immutable
 * caching; nothing is inlined (the page's Content-Security-Policy allows no inline script, style or
 * data: URL) and nothing is fetched from another host.
 */
/** For `vite` (development): the relay whose admin API the dev server's page talks to. */
const relayUrl = process.env.RELAY_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/dashboard/',
  plugins: [preact()],
  server: {
    // Same-origin for the page, as in production: the session cookie and the CSRF header just work.
    proxy: { '/admin': relayUrl, '/dashboard/api': relayUrl },
  },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
    // Keep Vite from injecting an inline modulepreload polyfill the CSP would refuse (modern browsers have it).
    modulePreload: { polyfill: false },
  },
});
