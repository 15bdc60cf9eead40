import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { withoutCredentials } from '../../config/upstream-proxy.js';
import { upstreamHost } from './check-upstream-dns.js';
import { checkResult, type CheckResult } from './doctor-check.js';
import { upstreamFixes } from './upstream-fixes.js';
import type { UpstreamTarget } from './upstream-target.js';
import { CheckTimeoutError, errorCode, errorMessage } from './with-timeout.js';

/**
 * Opens a TCP connection to the upstream (and, for https, completes the TLS handshake with the
 * certificate checked as the relay's calls check it), then closes it. Kept apart from the HTTP call
 * so a blocked port, a refused connection and a bad certificate each get their own fix.
 */
export async function checkUpstreamConnection(target: UpstreamTarget, timeoutMs: number): Promise<CheckResult> {
  const secure = target.url.protocol === 'https:';
  const name = `upstream ${target.settings.name} ${secure ? 'TLS' : 'TCP'}`;
  const host = upstreamHost(target);
  const where = `${host}:${target.port}`;
  const started = performance.now();
  try {
    const protocol = await open(host, target.port, secure, timeoutMs);
    const elapsed = Math.round(performance.now() - started);
    return checkResult(name, 'pass', secure ? `${where}: handshake done (${protocol}, ${elapsed} ms)` : `${where}: connected (${elapsed} ms)`);
  } catch (error) {
    const code = errorCode(error);
    const message = errorMessage(error);
    // Node's messages mostly repeat the code ("connect ECONNREFUSED 127.0.0.1:1"): then the message
    // alone; OpenSSL's ("…:SSL routines:ssl3_get_record:wrong version number:…") say no more than the code.
    const what =
      error instanceof CheckTimeoutError ? `no connection within ${timeoutMs} ms` : message.includes(code) ? message : message.includes('SSL routines') ? code : `${code}: ${message}`;
    return checkResult(name, 'fail', `${where}: ${what}; key not checked`, upstreamFixes.connection(target, code));
  }
}

/**
 * For an upstream reached through a proxy (`HTTPS_PROXY` / `HTTP_PROXY`, not named in `NO_PROXY`):
 * a TCP connection to the proxy, in place of the upstream's DNS, TCP and TLS steps, which are the
 * proxy's to take. The key check that follows goes through the proxy, as the relay's calls do.
 */
export async function checkUpstreamProxy(target: UpstreamTarget, proxyUrl: string, timeoutMs: number): Promise<CheckResult> {
  const name = `upstream ${target.settings.name} proxy`;
  const proxy = new URL(proxyUrl);
  const port = Number(proxy.port === '' ? (proxy.protocol === 'https:' ? 443 : 80) : proxy.port);
  const where = `${proxy.hostname}:${port}`;
  const variable = target.url.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY';
  const started = performance.now();
  try {
    await open(proxy.hostname.replace(/^\[|\]$/g, ''), port, false, timeoutMs);
    return checkResult(name, 'pass', `${target.url.host} through the proxy ${withoutCredentials(proxyUrl)} (${variable}): connected to it in ${Math.round(performance.now() - started)} ms`);
  } catch (error) {
    const code = errorCode(error);
    const what = error instanceof CheckTimeoutError ? `no connection within ${timeoutMs} ms` : `${code}: ${errorMessage(error)}`;
    return checkResult(
      name,
      'fail',
      `the proxy ${withoutCredentials(proxyUrl)} (${variable}) at ${where}: ${what}; key not checked`,
      `check the proxy's host and port in ${variable} (or reach ${target.url.hostname} directly: add it to NO_PROXY), and that the pod may reach the proxy: the NetworkPolicy of deploy/kubernetes allows egress on 443 and 80 only, so add the proxy's port.`,
    );
  }
}

/** Resolves with the TLS protocol (or `tcp`) once connected; rejects with the socket's error or a timeout. */
function open(host: string, port: number, secure: boolean, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: Socket = secure
      ? connectTls({ host, port, ...(isIP(host) === 0 ? { servername: host } : {}) })
      : connectTcp({ host, port });
    const timer = setTimeout(() => finish(new CheckTimeoutError(timeoutMs)), timeoutMs);
    const finish = (error: Error | undefined) => {
      clearTimeout(timer);
      const protocol = secure ? ((socket as TLSSocket).getProtocol() ?? 'TLS') : 'tcp';
      socket.removeAllListeners();
      // A late error from the destroyed socket must not become an uncaught exception.
      socket.on('error', () => {});
      socket.destroy();
      if (error === undefined) resolve(protocol);
      else reject(error);
    };
    socket.once(secure ? 'secureConnect' : 'connect', () => finish(undefined));
    socket.once('error', (error) => finish(error));
  });
}
