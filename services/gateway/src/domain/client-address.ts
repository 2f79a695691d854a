import { BlockList, isIP } from 'node:net';

/**
 * Who the client is, for rate limits and sign-in throttling. X-Forwarded-For
 * is anyone's to write: only hops we trust (our ingress controller, a load
 * balancer) may tell us who they forwarded for. Pure: no I/O.
 */
export type TrustedProxies = { has: (address: string) => boolean; readonly size: number };

/** Canonical text of an IP address (IPv4-mapped IPv6 as IPv4, IPv6 compressed and lower-case); undefined if not one. */
export function canonicalAddress(text: string): string | undefined {
  const trimmed = text.trim();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(trimmed);
  const candidate = mapped ? mapped[1]! : trimmed;
  const family = isIP(candidate);
  if (family === 4) return candidate;
  if (family !== 6 || candidate.includes('%')) return undefined;
  // The WHATWG URL parser serialises IPv6 canonically (RFC 5952): one client, one key.
  const host = new URL(`http://[${candidate}]/`).hostname.slice(1, -1);
  const v4 = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (!v4) return host;
  const [high, low] = [parseInt(v4[1]!, 16), parseInt(v4[2]!, 16)];
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/**
 * Parses TRUSTED_PROXIES: comma-separated IPv4/IPv6 addresses or CIDRs; empty trusts none.
 * Throws on an entry it cannot read (a typo must not silently trust nobody, or everybody).
 */
export function parseTrustedProxies(setting: string): TrustedProxies {
  const list = new BlockList();
  let size = 0;
  for (const entry of setting
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [addressText, prefixText, ...rest] = entry.split('/');
    const address = canonicalAddress(addressText ?? '');
    const family = address && isIP(address) === 6 ? 'ipv6' : 'ipv4';
    const maxPrefix = family === 'ipv6' ? 128 : 32;
    const prefix = prefixText === undefined ? maxPrefix : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (!address || rest.length > 0 || !(prefix >= 0 && prefix <= maxPrefix)) {
      throw new Error(`TRUSTED_PROXIES: "${entry}" is not an IP address or CIDR`);
    }
    list.addSubnet(address, prefix, family);
    size += 1;
  }
  return {
    has: (text) => {
      const address = canonicalAddress(text);
      return address !== undefined && list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
    },
    size,
  };
}

/**
 * The client's address: the socket peer, unless the peer is a trusted proxy.
 * Then X-Forwarded-For is walked from the right (each proxy appends the peer it
 * saw), skipping trusted hops; the first untrusted entry is the client. A
 * malformed entry stops the walk at the last trusted hop: what lies left of it
 * was written by someone we do not trust.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined, trusted: TrustedProxies): string {
  let client = canonicalAddress(peer ?? '') ?? peer ?? 'unknown';
  if (trusted.size === 0 || !trusted.has(client)) return client;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? '')).split(',');
  if (hops.length === 1 && hops[0]!.trim() === '') return client;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = canonicalAddress(hops[i]!);
    if (!hop) return client;
    client = hop;
    if (!trusted.has(hop)) return hop;
  }
  return client;
}
