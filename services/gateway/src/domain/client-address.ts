import { isIP } from 'node:net';

/**
 * Who the client is, for rate limits and sign-in throttling. X-Forwarded-For
 * is anyone's to write: only the entries our own proxies appended (the ingress
 * controller, a load balancer) tell us who they forwarded for. Which entries
 * those are is a count of hops, not a range of addresses: a client inside the
 * proxies' network is no proxy. Pure: no I/O.
 */

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
 * Parses TRUSTED_HOPS: how many proxies of ours stand in front of the gateway, a whole number.
 * Throws on anything else (a typo must not silently trust no proxy, or a client's own entries).
 */
export function parseTrustedHops(setting: string): number {
  const text = setting.trim();
  if (!/^\d{1,2}$/.test(text)) throw new Error(`TRUSTED_HOPS: "${setting}" is not a number of proxies (0 to 99)`);
  return Number(text);
}

/**
 * The client's address, as Envoy's `xff_num_trusted_hops`: the hops list is
 * X-Forwarded-For followed by the socket peer (each proxy appends the peer it
 * saw), and the client is the entry `trustedHops` places from its right end.
 * 0 (no proxy in front): the peer, whatever the header says. 1 (one ingress):
 * the address the ingress appended; anything left of it was written by the
 * client and is never read, so a client cannot choose its own address by
 * sending the header. With fewer entries than hops (the request did not come
 * through every proxy), or a malformed entry where the client should be, the
 * peer: never an address the client could have written.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined, trustedHops: number): string {
  const socketPeer = canonicalAddress(peer ?? '') ?? peer ?? 'unknown';
  if (trustedHops === 0) return socketPeer;
  const forwarded = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? '')).split(',');
  if (forwarded.length === 1 && forwarded[0]!.trim() === '') return socketPeer;
  const entry = forwarded[forwarded.length - trustedHops];
  return (entry !== undefined && canonicalAddress(entry)) || socketPeer;
}
