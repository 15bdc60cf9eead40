import { Agent, EnvHttpProxyAgent, Pool, type Dispatcher } from 'undici';
import type { UpstreamProxy } from '../config/relay-config.js';
import { OverflowingPool } from './overflowing-pool.js';

/**
 * The connection pools of upstream calls: per origin, `connections` kept alive and more opened on
 * demand while they are all busy (`OverflowingPool`); or, with a proxy set (`HTTPS_PROXY`,
 * `HTTP_PROXY`), the same through the proxy (a CONNECT tunnel per connection) for every host that
 * `NO_PROXY` does not name (`proxyFor` tells which). Without `connections`, undici's pools, unbounded.
 */
export function upstreamDispatcher(options: Agent.Options, proxy: UpstreamProxy | undefined): Dispatcher {
  const pooled: Agent.Options = options.connections == null ? options : { ...options, factory: overflowingPool };
  if (proxy === undefined) return new Agent(pooled);
  // Empty rather than undefined: undici would otherwise read the process's environment again.
  // The factory reaches the proxy agent's pools of tunnels too (undici's ProxyAgent takes it).
  return new EnvHttpProxyAgent({ ...pooled, httpProxy: proxy.http ?? '', httpsProxy: proxy.https ?? '', noProxy: proxy.noProxy ?? '' });
}

/** An origin's pools; one without a connection count (undici's own calls for a proxy's pieces) is a plain pool. */
function overflowingPool(origin: string | URL, options: object): Dispatcher {
  const poolOptions = options as Pool.Options;
  return poolOptions.connections == null ? new Pool(origin, poolOptions) : new OverflowingPool(origin, poolOptions);
}
