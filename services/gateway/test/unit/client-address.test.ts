import { canonicalAddress, clientAddress, parseTrustedProxies } from '../../src/domain/client-address.js';

const none = parseTrustedProxies('');
const ingress = parseTrustedProxies('10.0.0.0/8, 127.0.0.1, fd00::/8');

describe('trusted proxies setting', () => {
  it('reads IPv4 and IPv6 addresses and CIDRs; empty trusts none', () => {
    expect(none.size).toBe(0);
    expect(none.has('127.0.0.1')).toBe(false);
    expect(ingress.size).toBe(3);
    expect(['10.1.2.3', '127.0.0.1', '::ffff:10.0.0.9', 'fd12::1'].every((a) => ingress.has(a))).toBe(true);
    expect(['11.0.0.1', '127.0.0.2', 'fe80::1', '2001:db8::1', 'not-an-ip'].some((a) => ingress.has(a))).toBe(false);
  });

  it('refuses entries it cannot read, naming them', () => {
    for (const bad of ['10.0.0.0/33', 'fd00::/129', '10.0.0.0/', '10.0.0.0/8/8', 'proxy.local', '10.0.0', '010.0.0.1', '10.0.0.0/-1']) {
      expect(() => parseTrustedProxies(`127.0.0.1,${bad}`)).toThrow(bad);
    }
  });

  it('one address, one text: mapped IPv4 and IPv6 spellings are canonical', () => {
    expect(canonicalAddress('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(canonicalAddress('::FFFF:cb00:7107')).toBe('203.0.113.7');
    expect(canonicalAddress('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonicalAddress(' 203.0.113.7 ')).toBe('203.0.113.7');
    for (const bad of ['', 'unknown', '203.0.113', '203.0.113.7:443', '[2001:db8::1]', 'fe80::1%eth0'])
      expect(canonicalAddress(bad)).toBeUndefined();
  });
});

describe('client address', () => {
  it('is the socket peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientAddress('198.51.100.4', '203.0.113.7', none)).toBe('198.51.100.4');
    expect(clientAddress('127.0.0.1', '203.0.113.7', none)).toBe('127.0.0.1');
    expect(clientAddress('::ffff:198.51.100.4', undefined, none)).toBe('198.51.100.4');
  });

  it('is the socket peer when the peer is not trusted (a client talking to us directly)', () => {
    expect(clientAddress('198.51.100.4', '10.0.0.1', ingress)).toBe('198.51.100.4');
  });

  it('behind a trusted proxy, is the first untrusted hop from the right', () => {
    expect(clientAddress('10.0.0.5', '203.0.113.7', ingress)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.5', '203.0.113.7, 10.2.0.1', ingress)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.5', ['203.0.113.7', '10.2.0.1'], ingress)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.5', '2001:DB8::7', ingress)).toBe('2001:db8::7');
  });

  it('spoofing: entries a client prepends are left of the real one and never reached', () => {
    // The client sent "X-Forwarded-For: 10.9.9.9, 1.2.3.4"; the ingress appended the address it saw.
    expect(clientAddress('10.0.0.5', '10.9.9.9, 1.2.3.4, 203.0.113.7', ingress)).toBe('203.0.113.7');
    // A client claiming to be a trusted hop itself gains nothing: its real address is still appended.
    expect(clientAddress('10.0.0.5', '127.0.0.1, 203.0.113.7', ingress)).toBe('203.0.113.7');
  });

  it('a malformed entry stops the walk at the last trusted hop', () => {
    expect(clientAddress('10.0.0.5', 'garbage', ingress)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.5', '203.0.113.7, not-an-ip, 10.2.0.1', ingress)).toBe('10.2.0.1');
    expect(clientAddress('10.0.0.5', '203.0.113.7,,10.2.0.1', ingress)).toBe('10.2.0.1');
    expect(clientAddress('10.0.0.5', '203.0.113.7:5555', ingress)).toBe('10.0.0.5');
  });

  it('with no or only trusted entries, is the leftmost trusted hop', () => {
    expect(clientAddress('10.0.0.5', undefined, ingress)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.5', '', ingress)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.5', '10.3.0.1, 10.2.0.1', ingress)).toBe('10.3.0.1');
  });
});
