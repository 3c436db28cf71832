import { writeFileSync } from 'node:fs';
import ipaddr from 'ipaddr.js';

/**
 * A minimal MaxMind DB (format 2.0) writer for test fixtures. No mmdb writer is
 * published on npm and real GeoLite2 files cannot be redistributed, so tests build
 * tiny databases in both record shapes from this, following the public spec at
 * maxmind.github.io/MaxMind-DB. Limits (fine for fixtures): IPv6 tree, 32-bit
 * records, non-overlapping networks, unsigned integers < 2^32, doubles, strings,
 * booleans, arrays and maps.
 */

export type MmdbValue =
  string | number | boolean | readonly MmdbValue[] | { readonly [key: string]: MmdbValue };

export interface MmdbEntry {
  network: string;
  record: MmdbValue;
}

export interface MmdbOptions {
  databaseType: string;
  buildEpoch?: number;
  entries: readonly MmdbEntry[];
}

type Child = TreeNode | { data: number } | null;
interface TreeNode {
  children: [Child, Child];
}

const TYPE = { string: 2, double: 3, uint32: 6, map: 7, array: 11, boolean: 14 } as const;
const METADATA_MARKER = Buffer.from('abcdef4d61784d696e642e636f6d', 'hex');

function control(type: number, size: number): Buffer {
  const extended = type > 7;
  const head = (extended ? 0 : type << 5) & 0xff;
  const ext = extended ? [type - 7] : [];
  if (size < 29) return Buffer.from([head | size, ...ext]);
  if (size < 285) return Buffer.from([head | 29, ...ext, size - 29]);
  if (size < 65_821) return Buffer.from([head | 30, ...ext, (size - 285) >> 8, (size - 285) & 0xff]);
  const rest = size - 65_821;
  return Buffer.from([head | 31, ...ext, (rest >> 16) & 0xff, (rest >> 8) & 0xff, rest & 0xff]);
}

function uintBytes(value: number): Buffer {
  const bytes: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from(bytes);
}

export function encodeValue(value: MmdbValue): Buffer {
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([control(TYPE.string, bytes.length), bytes]);
  }
  if (typeof value === 'boolean') return control(TYPE.boolean, value ? 1 : 0);
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0 && value < 2 ** 32) {
      const bytes = uintBytes(value);
      return Buffer.concat([control(TYPE.uint32, bytes.length), bytes]);
    }
    const bytes = Buffer.alloc(8);
    bytes.writeDoubleBE(value);
    return Buffer.concat([control(TYPE.double, 8), bytes]);
  }
  if (Array.isArray(value)) {
    const items = value as readonly MmdbValue[];
    return Buffer.concat([control(TYPE.array, items.length), ...items.map(encodeValue)]);
  }
  const pairs = Object.entries(value as { readonly [key: string]: MmdbValue });
  const parts = pairs.flatMap(([key, item]) => [encodeValue(key), encodeValue(item)]);
  return Buffer.concat([control(TYPE.map, pairs.length), ...parts]);
}

/** The 128 bits of a network in the IPv6 tree; IPv4 sits under ::/96 as readers expect. */
function networkBits(network: string): boolean[] {
  const [addr, prefix] = ipaddr.parseCIDR(network);
  const bytes =
    addr.kind() === 'ipv4' ? [...(Array(12).fill(0) as number[]), ...addr.toByteArray()] : addr.toByteArray();
  const length = addr.kind() === 'ipv4' ? prefix + 96 : prefix;
  const bits: boolean[] = [];
  for (let i = 0; i < length; i++) bits.push((((bytes[i >> 3] ?? 0) >> (7 - (i & 7))) & 1) === 1);
  return bits;
}

function insert(root: TreeNode, bits: readonly boolean[], data: number): void {
  let node = root;
  bits.forEach((bit, depth) => {
    const side = bit ? 1 : 0;
    if (depth === bits.length - 1) {
      node.children[side] = { data };
      return;
    }
    let next = node.children[side];
    if (next === null || !('children' in next)) {
      next = { children: [null, null] };
      node.children[side] = next;
    }
    node = next;
  });
}

function numberNodes(root: TreeNode): TreeNode[] {
  const order: TreeNode[] = [];
  const queue: TreeNode[] = [root];
  for (let node = queue.shift(); node; node = queue.shift()) {
    order.push(node);
    for (const child of node.children) if (child && 'children' in child) queue.push(child);
  }
  return order;
}

export function buildMmdb(options: MmdbOptions): Buffer {
  const data: Buffer[] = [];
  const offsets: number[] = [];
  let size = 0;
  for (const entry of options.entries) {
    const encoded = encodeValue(entry.record);
    offsets.push(size);
    data.push(encoded);
    size += encoded.length;
  }

  const root: TreeNode = { children: [null, null] };
  options.entries.forEach((entry, index) => insert(root, networkBits(entry.network), index));
  const nodes = numberNodes(root);
  const ids = new Map(nodes.map((node, id) => [node, id]));
  const nodeCount = nodes.length;
  const tree = Buffer.alloc(nodeCount * 8);
  nodes.forEach((node, id) => {
    node.children.forEach((child, side) => {
      let value = nodeCount; // "no data"
      if (child && 'children' in child) value = ids.get(child) ?? nodeCount;
      else if (child) value = nodeCount + 16 + (offsets[child.data] ?? 0);
      tree.writeUInt32BE(value, id * 8 + side * 4);
    });
  });

  const metadata = encodeValue({
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    build_epoch: options.buildEpoch ?? 1_700_000_000,
    database_type: options.databaseType,
    description: { en: `threatwire test fixture (${options.databaseType})` },
    ip_version: 6,
    languages: ['en'],
    node_count: nodeCount,
    record_size: 32,
  });
  return Buffer.concat([tree, Buffer.alloc(16), ...data, METADATA_MARKER, metadata]);
}

export function writeMmdb(path: string, options: MmdbOptions): string {
  writeFileSync(path, buildMmdb(options));
  return path;
}
