import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { checkResult, type CheckResult } from './doctor-check.js';
import { upstreamFixes } from './upstream-fixes.js';
import type { UpstreamTarget } from './upstream-target.js';
import { errorCode, withTimeout } from './with-timeout.js';

/** The upstream's host name, without the brackets URLs put around IPv6 addresses. */
export function upstreamHost(target: UpstreamTarget): string {
  return target.url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Resolves the upstream's host as the relay's connections will: `dns.lookup` (getaddrinfo, so
 * /etc/hosts and the pod's resolv.conf apply), not a direct DNS query that could disagree.
 */
export async function checkUpstreamDns(target: UpstreamTarget, timeoutMs: number): Promise<CheckResult> {
  const name = `upstream ${target.settings.name} DNS`;
  const host = upstreamHost(target);
  if (isIP(host) !== 0) return checkResult(name, 'pass', `${host} is an address: nothing to resolve`);
  try {
    const addresses = await withTimeout(lookup(host, { all: true }), timeoutMs);
    const shown = addresses.slice(0, 3).map((entry) => entry.address);
    const more = addresses.length > shown.length ? ` and ${addresses.length - shown.length} more` : '';
    return checkResult(name, 'pass', `${host} → ${shown.join(', ')}${more}`);
  } catch (error) {
    const code = errorCode(error);
    return checkResult(name, 'fail', `${host} does not resolve (${code}); connection and key not checked`, upstreamFixes.dns(target, code));
  }
}
