/**
 * SSRF guard for http.request: a target whose address is loopback, private, link-local (cloud
 * metadata lives at 169.254.169.254), unique-local, CGNAT, multicast or unspecified is refused
 * unless HTTP_REQUEST_ALLOWED_HOSTS names the host, the IP or a CIDR containing it. Every address
 * a name resolves to is checked, and the request is pinned to the checked address, so DNS
 * rebinding between check and connect cannot slip through.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
] as const) {
  blocked.addSubnet(net, bits, 'ipv6');
}

export function isBlockedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 6 && address.toLowerCase().startsWith('::ffff:')) {
    const v4 = address.slice(7);
    if (isIP(v4) === 4) return blocked.check(v4, 'ipv4');
  }
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export class AllowList {
  readonly #hosts = new Set<string>();
  readonly #nets = new BlockList();
  constructor(entries: string[]) {
    for (const entry of entries) {
      const [net, bits] = entry.split('/');
      const family = isIP(net ?? '');
      if (family && bits !== undefined) this.#nets.addSubnet(net as string, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
      else if (family) this.#nets.addAddress(net as string, family === 4 ? 'ipv4' : 'ipv6');
      else this.#hosts.add(entry.toLowerCase());
    }
  }
  allows(host: string, address: string): boolean {
    if (this.#hosts.has(host.toLowerCase())) return true;
    const family = isIP(address);
    return family !== 0 && this.#nets.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}

export interface ResolvedTarget {
  address: string;
  family: 4 | 6;
}

/** Resolve `host` and refuse it when any address is blocked and not allowed. */
export async function resolveSafely(host: string, allow: AllowList): Promise<ResolvedTarget> {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const literal = isIP(bare);
  const addresses = literal ? [{ address: bare, family: literal as 4 | 6 }] : ((await lookup(bare, { all: true, verbatim: true })) as ResolvedTarget[]);
  if (addresses.length === 0) throw new Error(`${host} did not resolve`);
  for (const { address } of addresses) {
    if (isBlockedAddress(address) && !allow.allows(bare, address)) {
      throw new BlockedTargetError(host, address);
    }
  }
  return addresses[0] as ResolvedTarget;
}

export class BlockedTargetError extends Error {
  constructor(host: string, address: string) {
    super(`refusing to deliver to ${host} (${address}): loopback, private, link-local and metadata addresses are blocked unless HTTP_REQUEST_ALLOWED_HOSTS allows them`);
    this.name = 'BlockedTargetError';
  }
}
