// Ethernet II, IPv4 (RFC 791), UDP (RFC 768) and ARP (RFC 826) framing for a client that speaks from a
// packet socket: it has no address yet and its MAC is not the interface's, so it builds every header itself.
import { BROADCAST_MAC, formatIpv4, formatMac, ipv4Bytes, macBytes, ZERO_IP } from './addr.js';

export const ETH_HEADER_BYTES = 14;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const IPPROTO_UDP = 17;
export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;

/** The Internet checksum (RFC 1071): one's complement of the one's-complement sum of 16-bit words. */
export function internetChecksum(...parts: Buffer[]): number {
  let sum = 0;
  for (const b of parts) {
    for (let i = 0; i + 1 < b.length; i += 2) sum += ((b[i] as number) << 8) | (b[i + 1] as number);
    if (b.length % 2 === 1) sum += (b[b.length - 1] as number) << 8;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface UdpDatagram {
  srcMac: string;
  dstMac: string;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

/** What {@link buildUdpFrame} takes: a datagram with its MACs as bytes. */
export type UdpFrameInit = Omit<UdpDatagram, 'srcMac' | 'dstMac'> & { srcMac: Buffer; dstMac: Buffer };

/** An Ethernet frame carrying one IPv4/UDP datagram, with both checksums filled in. */
export function buildUdpFrame(d: UdpFrameInit): Buffer {
  const src = ipv4Bytes(d.srcIp, 'srcIp');
  const dst = ipv4Bytes(d.dstIp, 'dstIp');
  const eth = Buffer.alloc(ETH_HEADER_BYTES);
  d.dstMac.copy(eth, 0);
  d.srcMac.copy(eth, 6);
  eth.writeUInt16BE(ETHERTYPE_IPV4, 12);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(d.srcPort, 0);
  udp.writeUInt16BE(d.dstPort, 2);
  udp.writeUInt16BE(8 + d.payload.length, 4);
  // RFC 768: the checksum covers a pseudo header (source, destination, zero, protocol, UDP length);
  // a computed 0 is sent as 0xffff, since 0 means "no checksum".
  const pseudo = Buffer.alloc(12);
  src.copy(pseudo, 0);
  dst.copy(pseudo, 4);
  pseudo[9] = IPPROTO_UDP;
  pseudo.writeUInt16BE(8 + d.payload.length, 10);
  udp.writeUInt16BE(internetChecksum(pseudo, udp, d.payload) || 0xffff, 6);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45; // version 4, header length 5 words
  ip[1] = 0x10; // TOS "low delay", as ISC dhclient sends
  ip.writeUInt16BE(20 + 8 + d.payload.length, 2);
  ip[8] = 64; // TTL
  ip[9] = IPPROTO_UDP;
  src.copy(ip, 12);
  dst.copy(ip, 16);
  ip.writeUInt16BE(internetChecksum(ip), 10);
  return Buffer.concat([eth, ip, udp, d.payload]);
}

/**
 * The UDP datagram in an Ethernet frame, or undefined for anything else (not IPv4, not UDP, a fragment, a
 * bad IP header checksum, truncated). The UDP checksum is not checked: a sender on a veth leaves it to
 * offload (CHECKSUM_PARTIAL), and a packet socket on the peer sees it unfinished.
 */
export function parseUdpFrame(f: Buffer): UdpDatagram | undefined {
  if (f.length < ETH_HEADER_BYTES + 28 || f.readUInt16BE(12) !== ETHERTYPE_IPV4) return undefined;
  const ip = f.subarray(ETH_HEADER_BYTES);
  const ihl = ((ip[0] as number) & 0x0f) * 4;
  if ((ip[0] as number) >> 4 !== 4 || ihl < 20 || ip.length < ihl + 8) return undefined;
  if (ip[9] !== IPPROTO_UDP || (ip.readUInt16BE(6) & 0x3fff) !== 0) return undefined; // MF set or offset ≠ 0
  if (internetChecksum(ip.subarray(0, ihl)) !== 0) return undefined;
  const total = ip.readUInt16BE(2);
  if (total > ip.length || total < ihl + 8) return undefined;
  const udp = ip.subarray(ihl, total);
  const len = udp.readUInt16BE(4);
  if (len < 8 || len > udp.length) return undefined;
  return {
    dstMac: formatMac(f.subarray(0, 6)),
    srcMac: formatMac(f.subarray(6, 12)),
    srcIp: formatIpv4(ip, 12),
    dstIp: formatIpv4(ip, 16),
    srcPort: udp.readUInt16BE(0),
    dstPort: udp.readUInt16BE(2),
    payload: Buffer.from(udp.subarray(8, len)),
  };
}

export interface ArpPacket {
  op: 'request' | 'reply';
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

/** An Ethernet/IPv4 ARP request or reply (RFC 826), or undefined for anything else. */
export function parseArp(f: Buffer): ArpPacket | undefined {
  if (f.length < ETH_HEADER_BYTES + 28 || f.readUInt16BE(12) !== ETHERTYPE_ARP) return undefined;
  const a = f.subarray(ETH_HEADER_BYTES);
  // htype 1 (Ethernet), ptype 0x0800, hlen 6, plen 4
  if (a.readUInt16BE(0) !== 1 || a.readUInt16BE(2) !== ETHERTYPE_IPV4 || a[4] !== 6 || a[5] !== 4)
    return undefined;
  const op = a.readUInt16BE(6);
  if (op !== 1 && op !== 2) return undefined;
  return {
    op: op === 1 ? 'request' : 'reply',
    senderMac: formatMac(a.subarray(8, 14)),
    senderIp: formatIpv4(a, 14),
    targetMac: formatMac(a.subarray(18, 24)),
    targetIp: formatIpv4(a, 24),
  };
}

/** An Ethernet/IPv4 ARP frame (RFC 826): htype 1, ptype 0x0800, hlen 6, plen 4. */
function arpFrame(op: 1 | 2, ethDst: Buffer, sha: Buffer, spa: string, tha: Buffer, tpa: string): Buffer {
  const f = Buffer.alloc(ETH_HEADER_BYTES + 28);
  ethDst.copy(f, 0);
  sha.copy(f, 6);
  f.writeUInt16BE(ETHERTYPE_ARP, 12);
  const a = f.subarray(ETH_HEADER_BYTES);
  a.writeUInt16BE(1, 0);
  a.writeUInt16BE(ETHERTYPE_IPV4, 2);
  a[4] = 6;
  a[5] = 4;
  a.writeUInt16BE(op, 6);
  sha.copy(a, 8);
  ipv4Bytes(spa, 'senderIp').copy(a, 14);
  tha.copy(a, 18);
  ipv4Bytes(tpa, 'targetIp').copy(a, 24);
  return f;
}

/**
 * An ARP probe for `ip` (RFC 5227 §2.1.1): a broadcast request with sender address 0.0.0.0, so no neighbour
 * learns anything from it; whoever holds `ip` answers.
 */
export function buildArpProbe(mac: Buffer, ip: string): Buffer {
  return arpFrame(1, BROADCAST_MAC, mac, ZERO_IP, Buffer.alloc(6), ip);
}

/** An ARP reply from (mac, ip) to the asker of `req`. */
export function buildArpReply(req: ArpPacket, mac: Buffer, ip: string): Buffer {
  const asker = macBytes(req.senderMac, 'senderMac');
  return arpFrame(2, asker, mac, ip, asker, req.senderIp);
}
