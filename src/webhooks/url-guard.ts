import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { ServiceError } from '../domain/errors.ts';

/**
 * Keeps webhooks off internal networks (SSRF): a URL must be http(s) without credentials,
 * and every address its host resolves to must be public, unless a configured CIDR allows
 * it. The check runs when the webhook is saved and again on every connection (the lookup
 * below), so a DNS answer that changes later (rebinding) is refused too.
 */

const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  PRIVATE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
  ['2001:db8::', 32],
  ['100::', 64],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6');
}

export class AddressPolicy {
  private readonly allowed = new BlockList();
  private readonly any: boolean;

  /** `allowedCidrs`: e.g. `['127.0.0.1/32', '10.1.0.0/16']`. */
  constructor(allowedCidrs: readonly string[]) {
    for (const cidr of allowedCidrs) {
      const [net, bits] = cidr.split('/');
      const family = net ? isIP(net) : 0;
      if (!net || family === 0) throw new Error(`WEBHOOK_ALLOWED_CIDRS: ${cidr} is not an address or CIDR`);
      const prefix = bits === undefined ? (family === 4 ? 32 : 128) : Number(bits);
      this.allowed.addSubnet(net, prefix, family === 4 ? 'ipv4' : 'ipv6');
    }
    this.any = allowedCidrs.length > 0;
  }

  /** True when an address may be connected to. IPv4-mapped IPv6 is judged as its IPv4. */
  permits(address: string): boolean {
    let ip = address.replace(/^\[|\]$/g, '');
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (mapped) ip = mapped[1]!;
    const family = isIP(ip);
    if (family === 0) return false;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (this.any && this.allowed.check(ip, type)) return true;
    return !PRIVATE.check(ip, type);
  }

  /** A `lookup` for http.request that refuses hosts resolving to a forbidden address. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 4);
      const list = addresses ?? [];
      const refused = list.find((a) => !this.permits(a.address));
      if (refused || list.length === 0) {
        const e = Object.assign(new Error(`webhook host ${hostname} resolves to a forbidden address ${refused?.address ?? ''}`), { code: 'EFORBIDDENADDR' });
        return callback(e, '', 4);
      }
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      return callback(null, list[0]!.address, list[0]!.family);
    });
  };

  /** Validates a webhook URL when it is saved (422 with the reason). */
  async check(raw: string): Promise<URL> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw invalid('not a URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid('use http or https');
    if (url.username || url.password) throw invalid('credentials in the URL are not allowed');
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) {
      if (!this.permits(host)) throw invalid('loopback, private and link-local addresses are not allowed');
      return url;
    }
    if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal') || host.endsWith('.local')) {
      throw invalid('internal host names are not allowed');
    }
    const addresses = await new Promise<LookupAddress[]>((resolve, reject) => dnsLookup(host, { all: true }, (error, found) => (error ? reject(error) : resolve(found)))).catch(
      () => {
        throw invalid(`host ${host} does not resolve`);
      },
    );
    if (addresses.length === 0 || addresses.some((a) => !this.permits(a.address))) {
      throw invalid('the host resolves to a loopback, private or link-local address');
    }
    return url;
  }
}

function invalid(message: string): ServiceError {
  return new ServiceError('validation_failed', `webhook url: ${message}`, [{ path: 'url', message }]);
}
