import { describe, expect, it } from 'vitest';
import { ipMatcher, isIpOrCidr } from '#modules/keys/ip-allowlist.ts';
import { keyRefusal } from '#modules/keys/key-access.ts';
import { API_KEY_PREFIX, newKeySecret, secretEnds } from '#modules/keys/key-secret.ts';

describe("a key's allow-list entries: IPv4 or IPv6 addresses, or CIDR ranges", () => {
  it.each([
    { entry: '203.0.113.7', valid: true },
    { entry: '10.0.0.0/8', valid: true },
    { entry: '0.0.0.0/0', valid: true },
    { entry: '192.168.1.1/32', valid: true },
    { entry: '2001:db8::1', valid: true },
    { entry: '2001:db8::/32', valid: true },
    { entry: '::/0', valid: true },
    { entry: '2001:db8::/128', valid: true },
    { entry: '10.0.0.0/33', valid: false },
    { entry: '2001:db8::/129', valid: false },
    { entry: '10.0.0.0/-1', valid: false },
    { entry: '10.0.0.0/8/8', valid: false },
    { entry: '10.0.0.0/', valid: false },
    { entry: '10.0.0.0/a', valid: false },
    { entry: '256.0.0.1', valid: false },
    { entry: '10.0.0', valid: false },
    { entry: 'example.com', valid: false },
    { entry: '', valid: false },
  ])('"$entry" → $valid', ({ entry, valid }) => {
    expect(isIpOrCidr(entry)).toBe(valid);
  });
});

describe('a call from an address passes the allow-list when any entry covers it', () => {
  it.each([
    { case: 'the listed address', list: ['203.0.113.7'], ip: '203.0.113.7', allowed: true },
    { case: 'another address', list: ['203.0.113.7'], ip: '203.0.113.8', allowed: false },
    { case: 'inside a range', list: ['10.0.0.0/8'], ip: '10.255.1.2', allowed: true },
    { case: 'just outside a range', list: ['10.0.0.0/8'], ip: '11.0.0.0', allowed: false },
    {
      case: 'an IPv4-mapped IPv6 address (a dual-stack socket)',
      list: ['10.0.0.0/8'],
      ip: '::ffff:10.1.2.3',
      allowed: true,
    },
    { case: 'an IPv4-mapped address outside the range', list: ['10.0.0.0/8'], ip: '::ffff:192.0.2.1', allowed: false },
    { case: 'an IPv6 address in an IPv6 range', list: ['2001:db8::/32'], ip: '2001:db8:1::5', allowed: true },
    { case: 'an IPv6 address outside it', list: ['2001:db8::/32'], ip: '2001:db9::5', allowed: false },
    { case: 'an IPv6 address written another way', list: ['2001:db8::1'], ip: '2001:0db8:0000::0001', allowed: true },
    { case: 'an IPv4 call on an IPv6-only list', list: ['2001:db8::/32'], ip: '10.0.0.1', allowed: false },
    { case: 'one of several entries', list: ['192.0.2.1', '10.0.0.0/8'], ip: '10.0.0.1', allowed: true },
    { case: 'the whole IPv4 internet', list: ['0.0.0.0/0'], ip: '198.51.100.9', allowed: true },
    { case: 'an empty list allows nobody', list: [], ip: '10.0.0.1', allowed: false },
    { case: 'an address that is no address', list: ['0.0.0.0/0'], ip: 'unknown', allowed: false },
  ])('$case: $ip on $list → $allowed', ({ list, ip, allowed }) => {
    expect(ipMatcher(list)(ip)).toBe(allowed);
  });
});

describe('the state of a key and its owner decides a call (in this order)', () => {
  const NOW = Date.parse('2026-03-01T00:00:00Z');
  const OK = { userActive: true, enabled: true, expiresAt: null, allowsIp: null };
  const onlyFrom = (allowed: string) => (ip: string) => ip === allowed;

  it.each([
    { case: 'a usable key', key: OK, code: null },
    { case: 'a key expiring later', key: { ...OK, expiresAt: NOW + 1 }, code: null },
    { case: 'a call from an allowed address', key: { ...OK, allowsIp: onlyFrom('10.0.0.1') }, code: null },
    { case: "the owner's account is disabled or deleted", key: { ...OK, userActive: false }, code: 'ACCOUNT_DISABLED' },
    { case: 'the key is disabled', key: { ...OK, enabled: false }, code: 'API_KEY_DISABLED' },
    { case: 'the key expires at this instant', key: { ...OK, expiresAt: NOW }, code: 'API_KEY_EXPIRED' },
    { case: 'the key has expired', key: { ...OK, expiresAt: NOW - 1 }, code: 'API_KEY_EXPIRED' },
    { case: 'a call from another address', key: { ...OK, allowsIp: onlyFrom('10.0.0.2') }, code: 'API_KEY_IP_DENIED' },
    {
      case: 'a disabled owner is told before a disabled key',
      key: { ...OK, userActive: false, enabled: false },
      code: 'ACCOUNT_DISABLED',
    },
    {
      case: 'a disabled key is told before its expiry',
      key: { ...OK, enabled: false, expiresAt: NOW - 1 },
      code: 'API_KEY_DISABLED',
    },
    {
      case: 'an expired key is told before the address',
      key: { ...OK, expiresAt: NOW - 1, allowsIp: onlyFrom('10.0.0.2') },
      code: 'API_KEY_EXPIRED',
    },
  ])('$case → $code', ({ key, code }) => {
    expect(keyRefusal(key, '10.0.0.1', NOW)?.code ?? null).toBe(code);
  });
});

describe('API key secrets', () => {
  it('are `sk-` and 43 URL-safe base64 characters (256 random bits), never the same twice', () => {
    const secrets = Array.from({ length: 200 }, newKeySecret);
    for (const secret of secrets) expect(secret).toMatch(/^sk-[A-Za-z0-9_-]{43}$/);
    expect(new Set(secrets).size).toBe(secrets.length);
    expect(secrets.every((s) => s.startsWith(API_KEY_PREFIX))).toBe(true);
  });

  it.each([
    { secret: 'sk-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde', prefix: 'sk-AbCd', last4: 'bcde' },
    { secret: 'sk-0000', prefix: 'sk-0000', last4: '0000' },
  ])('$secret is shown again as $prefix…$last4', ({ secret, prefix, last4 }) => {
    expect(secretEnds(secret)).toEqual({ prefix, last4 });
  });
});
