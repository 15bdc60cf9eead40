import type { UpstreamProxy } from './relay-config.js';

/**
 * The proxy a call to `url` goes through, by the rules the relay's connection pools apply (undici's
 * `EnvHttpProxyAgent`, followed exactly): none when `NO_PROXY` names the host — the value `*` alone
 * names every host; an entry names its host and that host's subdomains, a leading `.` or `*.`
 * aside (`example.com`, `.example.com` and `*.example.com` all name `example.com` and
 * `api.example.com`), case aside, and `host:port` that port only — else the `https` proxy for an
 * https URL and the `http` one for an http URL.
 */
export function proxyFor(url: URL, proxy: UpstreamProxy | undefined): string | undefined {
  if (proxy === undefined) return undefined;
  const chosen = url.protocol === 'https:' ? proxy.https : proxy.http;
  if (chosen === undefined || bypasses(url, proxy.noProxy)) return undefined;
  return chosen;
}

const defaultPorts: Record<string, number> = { 'http:': 80, 'https:': 443 };

function bypasses(url: URL, noProxy: string | undefined): boolean {
  if (noProxy === undefined || noProxy === '') return false;
  if (noProxy === '*') return true;
  // `host` keeps an IPv6 address's brackets; the port is taken off by hand.
  const hostname = url.host.replace(/:\d*$/, '').toLowerCase();
  const port = Number.parseInt(url.port, 10) || defaultPorts[url.protocol] || 0;
  for (const entry of noProxy.split(/[,\s]/)) {
    if (entry === '') continue;
    const withPort = /^(.+):(\d+)$/.exec(entry);
    const host = (withPort === null ? entry : withPort[1]!).replace(/^\*?\./, '').toLowerCase();
    const entryPort = withPort === null ? 0 : Number.parseInt(withPort[2]!, 10);
    if (entryPort !== 0 && entryPort !== port) continue;
    if (hostname === host || hostname.endsWith(`.${host}`)) return true;
  }
  return false;
}

/** A proxy URL as a report or a log may show it: without its user and password. */
export function withoutCredentials(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.href.replace(/\/$/, '');
}
