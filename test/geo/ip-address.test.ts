import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { canonicalIp, isPublicIp, parseIp } from '../../src/geo/ip-address.js';

function rangeOf(input: string): string {
  const parsed = parseIp(input);
  if (!parsed.ok) throw new Error(`expected ${input} to parse: ${parsed.error}`);
  return parsed.range;
}

describe('parseIp', () => {
  it.each([
    ['8.8.8.8', '8.8.8.8', 4],
    [' 1.1.1.1\n', '1.1.1.1', 4],
    ['2001:4860:4860:0:0:0:0:8888', '2001:4860:4860::8888', 6],
    ['2001:DB8:0::1', '2001:db8::1', 6],
    ['::FFFF:a00:1', '::ffff:10.0.0.1', 6],
    ['::ffff:8.8.8.8', '::ffff:8.8.8.8', 6],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304', 6],
  ])('accepts %j as %s', (input, ip, version) => {
    expect(parseIp(input)).toMatchObject({ ok: true, ip, version });
  });

  it('exposes the IPv4 address inside an IPv4-mapped address', () => {
    expect(parseIp('::ffff:8.8.8.8')).toMatchObject({ embeddedIpv4: '8.8.8.8', range: 'PUBLIC' });
    expect(parseIp('8.8.8.8')).toMatchObject({ embeddedIpv4: null });
  });

  it.each([
    ['0x7f.1', /dotted-quad/],
    ['0177.0.0.1', /dotted-quad/],
    ['2130706433', /dotted-quad/],
    ['127.1', /dotted-quad/],
    ['1.2.3.04', /dotted-quad/],
    ['256.1.1.1', /dotted-quad/],
    ['fe80::1%eth0', /zone identifier/],
    ['10.0.0.0/8', /CIDR/],
    ['2001:db8::/32', /CIDR/],
    ['', /empty/],
    ['   ', /empty/],
    ['1'.repeat(46), /too long/],
    ['x'.repeat(10_000), /too long/],
    ['::ffff:0x7f.0.0.1', /embedded IPv4/],
    ['::ffff:010.0.0.1', /embedded IPv4/],
    ['example.com', /not a valid IPv4 or IPv6/],
    ['1.2.3.4:80', /not a valid IPv4 or IPv6/],
    ['[::1]', /not a valid IPv4 or IPv6/],
    ['1::2::3', /not a valid IPv4 or IPv6/],
  ])('rejects %j', (input, message) => {
    const parsed = parseIp(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(message);
  });

  it.each([
    ['8.8.8.8', 'PUBLIC'],
    ['10.0.0.1', 'PRIVATE'],
    ['172.16.5.4', 'PRIVATE'],
    ['192.168.1.1', 'PRIVATE'],
    ['127.0.0.1', 'LOOPBACK'],
    ['169.254.10.1', 'LINK_LOCAL'],
    ['100.64.1.1', 'CGNAT'],
    ['100.127.255.255', 'CGNAT'],
    ['100.128.0.1', 'PUBLIC'],
    ['224.0.0.1', 'MULTICAST'],
    ['192.0.2.1', 'DOCUMENTATION'],
    ['198.51.100.7', 'DOCUMENTATION'],
    ['203.0.113.200', 'DOCUMENTATION'],
    ['198.18.0.1', 'RESERVED'],
    ['240.0.0.1', 'RESERVED'],
    ['0.0.0.0', 'UNSPECIFIED'],
    ['255.255.255.255', 'BROADCAST'],
    ['2001:4860:4860::8888', 'PUBLIC'],
    ['::1', 'LOOPBACK'],
    ['::', 'UNSPECIFIED'],
    ['fe80::1', 'LINK_LOCAL'],
    ['fd00::1', 'PRIVATE'],
    ['ff02::1', 'MULTICAST'],
    ['2001:db8::1', 'DOCUMENTATION'],
    ['3fff::1', 'DOCUMENTATION'],
    ['100::1', 'RESERVED'],
    ['4000::1', 'RESERVED'],
    ['::ffff:10.0.0.1', 'PRIVATE'],
    ['::ffff:127.0.0.1', 'LOOPBACK'],
    ['::ffff:8.8.8.8', 'PUBLIC'],
  ])('classifies %s as %s', (input, range) => {
    expect(rangeOf(input)).toBe(range);
  });

  it('isPublicIp and canonicalIp agree with parseIp', () => {
    expect(isPublicIp('8.8.8.8')).toBe(true);
    expect(isPublicIp('10.0.0.1')).toBe(false);
    expect(isPublicIp('0x08.8.8.8')).toBe(false);
    expect(canonicalIp('2001:0DB8::0001')).toBe('2001:db8::1');
    expect(canonicalIp('nope')).toBeNull();
  });

  it('agrees with ipaddr.js range() for every IPv4 first octet (the public fast path)', () => {
    const tails = [
      '0.0.0',
      '0.0.1',
      '0.2.1',
      '0.113.1',
      '16.0.1',
      '18.0.1',
      '19.255.1',
      '31.196.1',
      '31.255.255',
    ];
    tails.push(
      '51.100.1',
      '52.193.1',
      '64.0.1',
      '88.99.1',
      '127.255.254',
      '168.1.1',
      '175.48.1',
      '254.1.1',
      '255.255.255',
    );
    const documentation = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'].map((c) =>
      ipaddr.IPv4.parseCIDR(c),
    );
    for (let first = 0; first < 256; first++) {
      for (const tail of tails) {
        const ip = `${first}.${tail}`;
        const addr = ipaddr.IPv4.parse(ip);
        const routable =
          ['unicast', 'as112', 'amt'].includes(addr.range()) && !documentation.some((r) => addr.match(r));
        expect(rangeOf(ip) === 'PUBLIC', ip).toBe(routable);
      }
    }
  });
});
