import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { parseCidr } from './config';

/** What a request looks like once `X-Forwarded-*` from a trusted proxy is applied. */
export interface RequestOrigin {
  /** The client's address: the socket peer, or the nearest untrusted hop a trusted proxy reported. */
  readonly clientAddress: string;
  /** The Host the client asked for (X-Forwarded-Host from a trusted proxy, else Host). */
  readonly host: string;
  /** `https` when the listener is TLS or a trusted proxy says the client used TLS. */
  readonly proto: 'http' | 'https';
  /** The socket peer is one of the trusted proxies. */
  readonly viaTrustedProxy: boolean;
}

/**
 * Applies `X-Forwarded-For`, `-Host` and `-Proto` only when the socket peer is one of
 * `team.trustedProxies` (addresses or CIDR blocks); from anyone else the headers are ignored, so
 * a client cannot pretend to come from elsewhere or to have asked for another host.
 */
export class ForwardedTrust {
  private readonly trusted = new BlockList();
  private readonly any: boolean;

  constructor(
    trustedProxies: readonly string[],
    private readonly tls: boolean,
  ) {
    for (const entry of trustedProxies) {
      const c = parseCidr(entry);
      if (c === undefined) continue;
      this.trusted.addSubnet(c.address, c.prefix, c.family);
    }
    this.any = trustedProxies.length > 0;
  }

  isTrusted(address: string | undefined): boolean {
    if (!this.any || address === undefined) return false;
    const a = unmapped(address);
    const family = isIP(a);
    if (family === 0) return false;
    return this.trusted.check(a, family === 4 ? 'ipv4' : 'ipv6');
  }

  origin(req: IncomingMessage): RequestOrigin {
    const peer = unmapped(req.socket.remoteAddress ?? 'unknown');
    const host = req.headers.host ?? '';
    const proto = this.tls ? 'https' : 'http';
    if (!this.isTrusted(peer)) return { clientAddress: peer, host, proto, viaTrustedProxy: false };
    // X-Forwarded-For: client, proxy1, proxy2 — walk from the right past trusted proxies.
    const hops = headerList(req.headers['x-forwarded-for']);
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = unmapped(hops[i]!);
      if (isIP(hop) === 0) break;
      client = hop;
      if (!this.isTrusted(hop)) break;
    }
    const fHost = headerList(req.headers['x-forwarded-host'])[0];
    const fProto = headerList(req.headers['x-forwarded-proto'])[0]?.toLowerCase();
    return {
      clientAddress: client,
      host: fHost ?? host,
      proto: fProto === 'https' || fProto === 'http' ? fProto : proto,
      viaTrustedProxy: true,
    };
  }
}

function headerList(value: string | string[] | undefined): string[] {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return joined
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** `::ffff:10.0.0.1` → `10.0.0.1`. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
