/**
 * SSRF guard for http.request: a target whose address is loopback, private, link-local (cloud
 * metadata lives at 169.254.169.254), unique-local, CGNAT, multicast or unspecified is refused
 * unless HTTP_REQUEST_ALLOWED_HOSTS names the host, the IP or a CIDR containing it. The check runs
 * inside the connection's own DNS lookup (http-request.ts), on every address the name resolves to,
 * so DNS rebinding between a check and the connect cannot slip through.
 */
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
  // Not ::ffff:0:0/96: BlockList matches IPv4 addresses against IPv4-mapped ranges, so that entry
  // would block every IPv4 address. Mapped addresses are unwrapped and checked as IPv4 below.
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

export class BlockedTargetError extends Error {
  constructor(host: string, address: string) {
    super(
      `refusing to deliver to ${host} (${address}): loopback, private, link-local and metadata addresses are blocked unless HTTP_REQUEST_ALLOWED_HOSTS allows them`,
    );
    this.name = 'BlockedTargetError';
  }
}
