import type { RelayConfig } from './relay-config.js';

/** Header names whose values are credentials (`authorization`, `api-key`, `x-auth-token`, …). */
const credentialHeader = /authorization|api[-_]?key|token|secret|password|cookie|signature|credential/i;

/**
 * Every upstream credential of a configuration: the providers' keys, the values of their
 * credential headers (a header such as `authorization: Basic …` also gives its value after the
 * scheme), the deployments' own keys, and a proxy's password. What the relay must never show a client or write to a
 * log, even when an upstream echoes it back in an error.
 */
export function upstreamSecrets(config: Pick<RelayConfig, 'providers' | 'routes'> & Partial<Pick<RelayConfig, 'upstreamProxy'>>): string[] {
  const secrets = new Set<string>();
  const add = (value: string | undefined) => {
    const trimmed = value?.trim();
    if (trimmed !== undefined && trimmed !== '') secrets.add(trimmed);
  };
  for (const provider of config.providers.values()) {
    add(provider.apiKey);
    for (const [name, value] of Object.entries(provider.headers)) {
      if (!credentialHeader.test(name)) continue;
      add(value);
      const scheme = /^\S+\s+(\S.*)$/.exec(value.trim());
      if (scheme !== null) add(scheme[1]);
    }
  }
  for (const route of config.routes.values()) {
    for (const target of [...route.groups.flat(), ...(route.canary?.targets ?? []), ...(route.shadow?.targets ?? [])]) add(target.apiKey);
  }
  // A proxy's credentials (`http://user:password@proxy:3128`).
  for (const url of [config.upstreamProxy?.http, config.upstreamProxy?.https]) if (url !== undefined) passwordsOf(url).forEach(add);
  return [...secrets];
}

/**
 * The password of a URL with credentials, as written and decoded (a driver's or a proxy's message
 * may quote either); none for a URL without one, or a value that is not a URL.
 */
export function passwordsOf(url: string): string[] {
  let password: string;
  try {
    password = new URL(url).password;
  } catch {
    return [];
  }
  if (password === '') return [];
  try {
    return [password, decodeURIComponent(password)];
  } catch {
    // not valid percent-encoding (the configuration refuses such a proxy URL): the password as written
    return [password];
  }
}
