import { canonicalAddress, clientAddress, parseTrustedHops } from '../../src/domain/client-address.js';

describe('trusted hops setting', () => {
  it('reads a whole number of proxies', () => {
    expect(parseTrustedHops('0')).toBe(0);
    expect(parseTrustedHops(' 1 ')).toBe(1);
    expect(parseTrustedHops('2')).toBe(2);
  });

  it('refuses anything else, naming it: an address range from the old setting, a sign, a fraction', () => {
    for (const bad of ['', '10.0.0.0/8', '127.0.0.1', '-1', '1.5', 'one', '1e1', '100', '0x1']) {
      expect(() => parseTrustedHops(bad)).toThrow(`"${bad}"`);
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
  it('with no trusted hops, is the socket peer whatever X-Forwarded-For says', () => {
    expect(clientAddress('198.51.100.4', '203.0.113.7', 0)).toBe('198.51.100.4');
    expect(clientAddress('127.0.0.1', '203.0.113.7', 0)).toBe('127.0.0.1');
    expect(clientAddress('::ffff:198.51.100.4', undefined, 0)).toBe('198.51.100.4');
  });

  it('behind one proxy, is the address that proxy appended: the rightmost entry', () => {
    expect(clientAddress('10.0.0.5', '203.0.113.7', 1)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.5', ['198.51.100.1', '203.0.113.7'], 1)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.5', '2001:DB8::7', 1)).toBe('2001:db8::7');
    expect(clientAddress('10.0.0.5', '::ffff:203.0.113.7', 1)).toBe('203.0.113.7');
  });

  it('behind two proxies, is the entry the outer one appended', () => {
    expect(clientAddress('10.0.0.5', '203.0.113.7, 10.2.0.1', 2)).toBe('203.0.113.7');
    expect(clientAddress('10.0.0.5', '198.51.100.1, 203.0.113.7, 10.2.0.1', 2)).toBe('203.0.113.7');
  });

  it('spoofing: entries a client sends itself are left of the counted hops and never read', () => {
    // The client sent "X-Forwarded-For: 10.9.9.9, 1.2.3.4"; the ingress appended the address it saw.
    expect(clientAddress('10.0.0.5', '10.9.9.9, 1.2.3.4, 203.0.113.7', 1)).toBe('203.0.113.7');
    // A client inside the proxies' own network is just another client: no range makes it a proxy.
    expect(clientAddress('10.0.0.5', '198.51.100.99, 10.1.2.3', 1)).toBe('10.1.2.3');
  });

  it('with fewer entries than hops, or a malformed entry where the client should be, is the socket peer', () => {
    expect(clientAddress('10.0.0.5', undefined, 1)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.5', '', 1)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.5', '203.0.113.7', 2)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.5', 'garbage', 1)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.5', '203.0.113.7:5555', 1)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.5', '203.0.113.7,,10.2.0.1', 2)).toBe('10.0.0.5');
    // A malformed entry left of the client's is the client's own writing: ignored.
    expect(clientAddress('10.0.0.5', 'not-an-ip, 203.0.113.7', 1)).toBe('203.0.113.7');
  });
});
