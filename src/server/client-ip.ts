import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';

/**
 * The client's address for a raw request (WebSocket upgrades): the TCP peer, or with
 * trusted proxies (TRUST_PROXY) the nearest untrusted address of X-Forwarded-For — the
 * same rule Fastify applies to HTTP requests with the same list.
 */
export function clientAddressOf(trust: readonly string[]): (req: IncomingMessage) => string | undefined {
  if (trust.length === 0) return (req) => req.socket.remoteAddress;
  const trusted = proxyAddr.compile([...trust]);
  return (req) => proxyAddr(req, trusted);
}
