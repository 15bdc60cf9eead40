import type { UpstreamProxy } from './relay-config.js';

/**
 * The proxy a call to `url` goes through, by the rules the relay's connection pools apply (undici's
 * `EnvHttpProxyAgent`): none when `NO_PROXY` names the host — `*` names every host, `example.com`
 * that host alone, `.example.com` or `*.example.com` its subdomains, and `host:port` that port only —
 * else the `https` proxy for an https URL and the `http` one for an http URL.
 */
export function proxyFor(url: URL, proxy: UpstreamProxy | undefined): string | undefined {
  if (proxy === undefined) return undefined;
  const chosen = url.protocol === 'https:' ? proxy.https : proxy.http;
  if (chosen === undefined || bypasses(url, proxy.noProxy)) return undefined;
  return chosen;
}

const defaultPorts: Record<string, string> = { 'http:': '80', 'https:': '443' };

function bypasses(url: URL, noProxy: string | undefined): boolean {
  if (noProxy === undefined) return false;
  const entries = noProxy.split(/[,\s]/).filter((entry) => entry !== '');
  if (entries.includes('*')) return true;
  const hostname = url.hostname.toLowerCase();
  const port = url.port === '' ? defaultPorts[url.protocol] : url.port;
  for (const entry of entries) {
    const match = /^(.*?)(?::(\d+))?$/.exec(entry.toLowerCase())!;
    const host = match[1]!;
    if (match[2] !== undefined && match[2] !== port) continue;
    if (/^[.*]/.test(host) ? hostname.endsWith(host.replace(/^\*/, '')) : hostname === host) return true;
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
