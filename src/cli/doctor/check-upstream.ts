import type { Dispatcher } from 'undici';
import { checkRoutedModels } from './check-routed-models.js';
import type { UpstreamProxy } from '../../config/relay-config.js';
import { proxyFor } from '../../config/upstream-proxy.js';
import { checkUpstreamConnection, checkUpstreamProxy } from './check-upstream-connection.js';
import { checkUpstreamDns } from './check-upstream-dns.js';
import { checkUpstreamKey } from './check-upstream-key.js';
import type { CheckResult } from './doctor-check.js';
import type { UpstreamTarget } from './upstream-target.js';

/**
 * One upstream, step by step: DNS, then the connection (or, through a proxy, the connection to the
 * proxy), then each key. A step that fails ends the
 * chain, since the next ones could only fail the same way and bury the first cause under copies.
 */
export async function checkUpstream(target: UpstreamTarget, dispatcher: Dispatcher, timeoutMs: number, proxy?: UpstreamProxy): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const proxyUrl = proxyFor(target.url, proxy);
  if (proxyUrl !== undefined) {
    const reached = await checkUpstreamProxy(target, proxyUrl, timeoutMs);
    results.push(reached);
    if (reached.status === 'fail') return results;
  } else {
    const dns = await checkUpstreamDns(target, timeoutMs);
    results.push(dns);
    if (dns.status === 'fail') return results;
    const connection = await checkUpstreamConnection(target, timeoutMs);
    results.push(connection);
    if (connection.status === 'fail') return results;
  }
  // Keys of one upstream are independent of each other: checked together.
  const outcomes = await Promise.all(
    target.keys.map((key, index) => checkUpstreamKey(target, key, `upstream ${target.settings.name} key${index === 0 ? '' : ` ${index + 1}`}`, dispatcher, timeoutMs)),
  );
  results.push(...outcomes.map((outcome) => outcome.result));
  const listed = outcomes.find((outcome) => outcome.models !== undefined)?.models;
  if (listed !== undefined) {
    const routed = checkRoutedModels(target, listed);
    if (routed !== undefined) results.push(routed);
  }
  return results;
}
