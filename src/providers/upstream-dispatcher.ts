import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici';
import type { UpstreamProxy } from '../config/relay-config.js';

/**
 * The connection pools of upstream calls: kept-alive connections per origin, or, with a proxy set
 * (`HTTPS_PROXY`, `HTTP_PROXY`), through the proxy (a CONNECT tunnel per connection) for every host
 * that `NO_PROXY` does not name (`proxyFor` tells which).
 */
export function upstreamDispatcher(options: Agent.Options, proxy: UpstreamProxy | undefined): Dispatcher {
  if (proxy === undefined) return new Agent(options);
  // Empty rather than undefined: undici would otherwise read the process's environment again.
  return new EnvHttpProxyAgent({ ...options, httpProxy: proxy.http ?? '', httpsProxy: proxy.https ?? '', noProxy: proxy.noProxy ?? '' });
}
