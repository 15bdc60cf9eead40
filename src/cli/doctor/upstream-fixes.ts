import type { UpstreamKey, UpstreamTarget } from './upstream-target.js';

/**
 * The names of deploy/kubernetes (and the Helm chart's defaults). Fixes print them in commands; a
 * deployment under other names changes them, which the fixes say once.
 */
const namespace = 'relay';
const secret = 'relay-secrets';
const deployment = 'deployment/relay';
const networkPolicy = 'relay-egress';
const namesNote = `(names as in deploy/kubernetes: namespace ${namespace}, Secret ${secret}, ${deployment} (${deployment}-primary under Flagger), NetworkPolicy ${networkPolicy}; use yours if they differ)`;

/**
 * The fix under each failed upstream check: the seed playbook's "Common Errors and Fixes" (401 from a
 * key not loaded from the Secret, 429, timeouts from blocked egress or DNS), turned into the
 * commands for this relay's manifests.
 */
export const upstreamFixes = {
  dns(target: UpstreamTarget, code: string): string {
    const host = target.url.hostname;
    const cause =
      code !== 'ENOTFOUND'
        ? `the resolver did not answer for ${host} (${code}): cluster DNS is down, or egress to it is blocked.`
        : target.defaultBaseUrl
          ? `no DNS record for ${host}, the built-in default host: the resolver here cannot see public names.`
          : `no DNS record for ${host}: check the host name in ${target.baseUrlSource}; if it is right, the resolver here cannot see it.`;
    return [
      cause,
      // The seed's check runs nslookup in a busybox pod, which the namespace's Pod Security
      // "restricted" refuses (no securityContext), and the relay's image has no nslookup: its own
      // node resolves the name in a relay pod, under its NetworkPolicy, as the relay's connections do.
      "In Kubernetes, resolve it from a relay pod, under the relay's NetworkPolicy and resolver:",
      `  kubectl -n ${namespace} exec ${deployment} -- node -e "require('node:dns').lookup('${host}', { all: true }, console.log)"`,
      'If that fails too, check the cluster DNS, and that the NetworkPolicy allows DNS egress to kube-system on UDP and TCP 53:',
      '  kubectl -n kube-system get pods -l k8s-app=kube-dns',
      `  kubectl -n ${namespace} get networkpolicy ${networkPolicy} -o yaml`,
      namesNote,
    ].join('\n');
  },

  connection(target: UpstreamTarget, code: string): string {
    const where = `${target.url.hostname}:${target.port}`;
    if (code === 'ECONNREFUSED') {
      return [
        `nothing accepts connections on ${where}: check the host and port in ${target.baseUrlSource} (no port means ${target.url.protocol === 'https:' ? 443 : 80}),`,
        'and that the upstream server runs. A proxy or firewall on the way may also refuse it.',
      ].join('\n');
    }
    if (code === 'EPROTO' || code.startsWith('ERR_SSL')) {
      return `the server on ${where} does not speak TLS as expected (${code}): an http:// server behind an https:// URL, or the wrong port. Check ${target.baseUrlSource}.`;
    }
    if (code.startsWith('ERR_TLS') || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
      return [
        `the upstream's TLS certificate is not trusted (${code}). Behind a TLS-inspecting proxy or with a private CA, give Node the CA:`,
        '  NODE_EXTRA_CA_CERTS=/path/to/ca.pem',
        `An expired certificate, or one for another name: check the host in ${target.baseUrlSource}.`,
      ].join('\n');
    }
    const reset = code === 'ECONNRESET' ? `the connection to ${where} was cut (a firewall or proxy, or plain http on an https URL)` : `no answer from ${where} (${code}): egress is blocked`;
    // Only reached without a proxy for this host: through one, the doctor checks the proxy instead.
    const proxyVariable = target.url.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY';
    return [
      `${reset}. In Kubernetes, the NetworkPolicy must allow egress on TCP ${target.port} to any destination:`,
      `  kubectl -n ${namespace} get networkpolicy -o yaml`,
      `deploy/kubernetes/networkpolicy.yaml allows TCP 443 anywhere (the seed's policy, with namespaceSelector: {}, allows only pods in the cluster)${target.port === 443 ? '' : `; port ${target.port} needs its own rule`}.`,
      'Elsewhere: firewall or security-group egress rules.',
      `The relay connects to ${target.url.hostname} directly (no proxy applies to it). Where only a forward proxy may reach the internet,`,
      `set ${proxyVariable} in the relay's environment (${proxyVariable}=http://proxy.internal:3128, the host kept out of NO_PROXY),`,
      "and allow the proxy's port in the NetworkPolicy's egress: deploy/kubernetes allows 443 and 80 only.",
      namesNote,
    ].join('\n');
  },

  keyRefused(target: UpstreamTarget, key: UpstreamKey, status: number): string {
    if (key.value === undefined) {
      return `no key is configured for ${target.settings.name} and the upstream requires one: set providers.${target.settings.name}.apiKey: "\${VARIABLE}" in relay.yaml and VARIABLE in the environment.`;
    }
    const variable = key.variable ?? 'VARIABLE';
    const lines = [
      `check that ${key.source} holds the current key for this upstream: complete, without quotes, spaces or line breaks.`,
    ];
    if (status === 403) lines.push('A 403 can also be a restricted key without permission to list models: the message above says which.');
    lines.push(
      `In Kubernetes (the seed's "401 Invalid API key": the key not loaded from the Secret):`,
      `  kubectl -n ${namespace} get secret ${secret} -o jsonpath='{.data.${variable}}' | base64 -d | wc -c    # its length, never its value`,
      `  kubectl -n ${namespace} exec ${deployment} -- sh -c 'env | cut -d= -f1 | grep _KEY'                 # the names the pod sees`,
      `  kubectl -n ${namespace} patch secret ${secret} --type merge -p '{"stringData":{"${variable}":"YOUR_${variable}"}}'`,
      `  kubectl -n ${namespace} rollout restart ${deployment}`,
      "With the seed's own manifests, recreate its Secret holysheep-api-credentials in namespace ai-services:",
      '  kubectl -n ai-services delete secret holysheep-api-credentials',
      '  kubectl -n ai-services create secret generic holysheep-api-credentials --from-literal=API_KEY=YOUR_HOLYSHEEP_API_KEY --from-literal=BASE_URL=https://api.holysheep.ai/v1',
      namesNote,
    );
    return lines.join('\n');
  },

  rateLimited(target: UpstreamTarget): string {
    const upgrade = /holysheep/i.test(target.url.hostname) ? 'Upgrade the HolySheep tier (https://www.holysheep.ai/dashboard)' : "Raise the upstream account's tier";
    return [
      'the relay retries 429s with back-off (honouring retry-after), but steady 429s mean the limits are too low for the traffic.',
      `${upgrade}, or add more keys as deployments of a route, so the relay spreads requests over them:`,
      '  models:',
      '    gpt-4.1:',
      '      targets:',
      `        - { provider: ${target.settings.name}, apiKey: "\${KEY_1}" }`,
      `        - { provider: ${target.settings.name}, apiKey: "\${KEY_2}" }`,
    ].join('\n');
  },

  quota(target: UpstreamTarget, key: UpstreamKey): string {
    return `the upstream account behind ${key.source} has no quota or credit left: top it up in ${target.settings.name}'s dashboard, or use another account's key.`;
  },
};
