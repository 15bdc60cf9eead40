import { describe, expect, it } from 'vitest';
import { proxyFor, withoutCredentials } from './upstream-proxy.js';

const proxy = (noProxy?: string) => ({ http: 'http://proxy.internal:3128', https: 'http://secure-proxy.internal:3128', noProxy });

describe('proxyFor', () => {
  it('takes the proxy of the URL scheme, and none without a proxy', () => {
    expect(proxyFor(new URL('https://api.holysheep.ai/v1'), proxy())).toBe('http://secure-proxy.internal:3128');
    expect(proxyFor(new URL('http://vllm.internal:8000/v1'), proxy())).toBe('http://proxy.internal:3128');
    expect(proxyFor(new URL('https://api.openai.com/v1'), undefined)).toBeUndefined();
    expect(proxyFor(new URL('https://api.openai.com/v1'), { http: 'http://p:1', https: undefined, noProxy: undefined })).toBeUndefined();
  });

  it("reaches the hosts NO_PROXY names directly, by undici's rules: a name and its subdomains, case aside, ports, and * alone", () => {
    const rules = proxy('localhost, .svc.cluster.local,*.corp.example  vllm.internal:8000,EXAMPLE.org');
    expect(proxyFor(new URL('http://localhost:8080'), rules)).toBeUndefined();
    expect(proxyFor(new URL('http://vllm.ai.svc.cluster.local/v1'), rules)).toBeUndefined();
    expect(proxyFor(new URL('http://svc.cluster.local/v1'), rules)).toBeUndefined();
    expect(proxyFor(new URL('https://llm.corp.example/v1'), rules)).toBeUndefined();
    expect(proxyFor(new URL('https://corp.example/v1'), rules)).toBeUndefined();
    expect(proxyFor(new URL('http://vllm.internal:8000/v1'), rules)).toBeUndefined();
    expect(proxyFor(new URL('http://vllm.internal:9000/v1'), rules)).toBe('http://proxy.internal:3128');
    expect(proxyFor(new URL('https://example.org/v1'), rules)).toBeUndefined();
    expect(proxyFor(new URL('https://api.example.org/v1'), rules)).toBeUndefined();
    expect(proxyFor(new URL('https://badexample.org/v1'), rules)).toBe('http://secure-proxy.internal:3128');
    expect(proxyFor(new URL('https://api.holysheep.ai/v1'), proxy('*'))).toBeUndefined();
    // "*" is a wildcard only as the whole value.
    expect(proxyFor(new URL('https://api.holysheep.ai/v1'), proxy('localhost,*'))).toBe('http://secure-proxy.internal:3128');
  });

  it('shows a proxy URL without its credentials', () => {
    expect(withoutCredentials('http://relay:s3cret@proxy.internal:3128')).toBe('http://proxy.internal:3128');
    expect(withoutCredentials('http://proxy.internal:3128/')).toBe('http://proxy.internal:3128');
  });
});
