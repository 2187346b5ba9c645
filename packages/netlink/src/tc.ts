// Pure traffic-control encoders (no I/O): the root token-bucket qdisc (sch_tbf) that shapes what an
// interface transmits. Layouts from include/uapi/linux/{rtnetlink,pkt_sched}.h; semantics from
// net/sched/sch_tbf.c tbf_change(): with TCA_TBF_BURST the bucket size is given in bytes (the `buffer`
// time of tc_tbf_qopt is then ignored), TCA_TBF_RATE64 carries rates of 2^32 bytes/s and more, and a
// rate spec with linklayer ETHERNET needs no rate table (qdisc_get_rtab is only consulted for UNAWARE).
import { attr, attrNested, attrStr, attrU32 } from './wire.js';

export const RTM_TC = { NEWQDISC: 36, DELQDISC: 37, GETQDISC: 38 } as const;
/** tcm_parent of a root qdisc (pkt_sched.h TC_H_ROOT). */
export const TC_H_ROOT = 0xffff_ffff;
const TCA_KIND = 1;
const TCA_OPTIONS = 2;
const TCA_TBF_PARMS = 1;
const TCA_TBF_RATE64 = 4;
const TCA_TBF_BURST = 6;
const TC_LINKLAYER_ETHERNET = 1;

export interface TokenBucketSpec {
  /** Rate in bits per second (> 0). */
  rateBitsPerSecond: number;
  /** Bucket size in bytes: how much may leave at line speed after an idle period (≥ the MTU). */
  burstBytes: number;
  /** Bytes queued before packets are dropped (default: 50 ms at the rate plus the burst, at least 64 KiB). */
  queueBytes?: number;
}

/** struct tcmsg: family, pad, ifindex, handle, parent, info (20 bytes). */
export function tcmsg(ifindex: number, parent = TC_H_ROOT, handle = 0): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt8(0, 0); // AF_UNSPEC
  b.writeInt32LE(ifindex, 4);
  b.writeUInt32LE(handle >>> 0, 8);
  b.writeUInt32LE(parent >>> 0, 12);
  return b;
}

/** The queue limit used when the spec gives none. */
export function defaultQueueBytes(spec: TokenBucketSpec): number {
  return Math.max(65_536, Math.ceil((spec.rateBitsPerSecond / 8) * 0.05) + spec.burstBytes);
}

/** RTM_NEWQDISC payload for a root `tbf` on `ifindex` (send with NLM_F_CREATE | NLM_F_REPLACE). */
export function tbfQdiscPayload(ifindex: number, spec: TokenBucketSpec): Buffer {
  const bytesPerSecond = Math.floor(spec.rateBitsPerSecond / 8);
  const parms = Buffer.alloc(36);
  // struct tc_ratespec rate { u8 cell_log; u8 linklayer; u16 overhead; s16 cell_align; u16 mpu; u32 rate }
  parms.writeUInt8(TC_LINKLAYER_ETHERNET, 1);
  parms.writeUInt32LE(Math.min(bytesPerSecond, 0xffff_ffff), 8);
  // peakrate (12 bytes) stays zero: no peak rate.
  parms.writeUInt32LE(spec.queueBytes ?? defaultQueueBytes(spec), 24); // limit
  // buffer (28) and mtu (32) are times in psched ticks; TCA_TBF_BURST replaces buffer, mtu 0 = no peak bucket.
  const options = [attr(TCA_TBF_PARMS, parms), attrU32(TCA_TBF_BURST, spec.burstBytes)];
  if (bytesPerSecond >= 0xffff_ffff) {
    const r = Buffer.alloc(8);
    r.writeBigUInt64LE(BigInt(bytesPerSecond), 0);
    options.push(attr(TCA_TBF_RATE64, r));
  }
  return Buffer.concat([tcmsg(ifindex), attrStr(TCA_KIND, 'tbf'), attrNested(TCA_OPTIONS, ...options)]);
}

/** RTM_DELQDISC payload for the root qdisc of `ifindex` (the device falls back to its default). */
export function deleteRootQdiscPayload(ifindex: number): Buffer {
  return tcmsg(ifindex);
}
