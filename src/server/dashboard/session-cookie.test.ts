import { describe, expect, it } from 'vitest';
import { cameOverHttps, readSessionCookie, sessionCookie } from './session-cookie.js';

const id = 'AkKaQcPnwnbJZIwPHu5rs1ANcvfkTn69_Ipmx30o6BU';

describe('the session cookie', () => {
  it('is read among other cookies, and only when it looks like one of our ids', () => {
    expect(readSessionCookie({ cookie: `theme=dark; relay_session=${id}; other=1` })).toBe(id);
    expect(readSessionCookie({ cookie: `relay_session=${id}` })).toBe(id);
    expect(readSessionCookie({ cookie: `xrelay_session=${id}` })).toBeUndefined();
    expect(readSessionCookie({ cookie: 'relay_session=' })).toBeUndefined();
    expect(readSessionCookie({ cookie: 'relay_session=../../etc/passwd' })).toBeUndefined();
    expect(readSessionCookie({ cookie: `relay_session=${'a'.repeat(500)}` })).toBeUndefined();
    expect(readSessionCookie({})).toBeUndefined();
  });

  it('is HttpOnly, SameSite=Strict, Path=/, and Secure when asked', () => {
    expect(sessionCookie(id, { maxAgeSeconds: 43_200, secure: false })).toBe(`relay_session=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200`);
    expect(sessionCookie(id, { maxAgeSeconds: 43_200, secure: true })).toBe(`relay_session=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure`);
    expect(sessionCookie('', { maxAgeSeconds: -5, secure: false })).toBe('relay_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0');
  });

  it('knows HTTPS from the socket or from the first x-forwarded-proto', () => {
    expect(cameOverHttps({}, true)).toBe(true);
    expect(cameOverHttps({}, false)).toBe(false);
    expect(cameOverHttps({ 'x-forwarded-proto': 'https' }, false)).toBe(true);
    expect(cameOverHttps({ 'x-forwarded-proto': 'HTTPS, http' }, false)).toBe(true);
    expect(cameOverHttps({ 'x-forwarded-proto': 'http, https' }, false)).toBe(false);
  });
});
