// Mirroring of OVN endpoints, as OVN 23.03 supports it: NB `Mirror` rows (ovn-nb(5) Mirror; a ROOT table,
// referenced weakly from Logical_Switch_Port.mirror_rules) whose `type` is `gre` or `erspan` — the only two
// in the schema's enum — and `sink` the IPv4 address of a collector reachable over the underlay.
// ovn-controller turns each into an OVS Mirror on br-int (select_src_port for from-lport, select_dst_port
// for to-lport) whose output is a tunnel port `ovn-<mirror name>` (options remote_ip=<sink>, key=<index>;
// for erspan also erspan_idx/erspan_ver=1). Verified here (userspace datapath): both types deliver one
// encapsulated copy per packet to the sink.
//
// Both directions need two rows (a rule has one `filter`), and OVS refuses two tunnel ports with the same
// remote_ip, type and key: what the container sends goes with key K, what it receives with K+1.
// Rows carry `ocn-owner` and `ocn-mirror-port=<lsp>`, and are deleted in the transaction that deletes the
// port (driver.ts #deletePorts): a root table is never garbage-collected.
import { parseIp } from '@ovs-container-network/ovn';
import { InvalidOptionError } from '../errors.js';

export const OVN_MIRROR_EXT = { owner: 'ocn-owner', port: 'ocn-mirror-port' } as const;

export interface OvnMirrorSpec {
  sink: string;
  type: 'gre' | 'erspan';
  /** Tunnel key of what the container sends; what it receives uses key + 1. */
  key: number;
}

const TYPES = ['gre', 'erspan'] as const;
/** ERSPAN's session id is 10 bits (erspan_idx); key + 1 must fit too. */
const MAX_KEY = 1022;

/**
 * `--driver-opt mirror.sink=IPv4 [mirror.type=gre|erspan] [mirror.key=N]`; undefined without mirror.sink.
 * Other `mirror.*` keys (the single-host mirror.to / mirror.monitor among them) are refused by name.
 */
export function parseOvnMirrorOptions(opts: Readonly<Record<string, unknown>>): OvnMirrorSpec | undefined {
  let sink: string | undefined;
  let type: OvnMirrorSpec['type'] = 'gre';
  let key: number | undefined;
  let typeGiven: unknown;
  for (const [k, v] of Object.entries(opts)) {
    if (!k.startsWith('mirror.')) continue;
    if (k === 'mirror.sink') {
      const ip = typeof v === 'string' ? parseIp(v.trim()) : undefined;
      if (ip?.family !== 4)
        throw new InvalidOptionError(k, v, 'the IPv4 address of a GRE/ERSPAN collector on the underlay');
      sink = ip.text;
    } else if (k === 'mirror.type') {
      typeGiven = v;
      if (!(TYPES as readonly unknown[]).includes(v))
        throw new InvalidOptionError(k, v, 'gre or erspan (the types of OVN 23.03 NB Mirror)');
      type = v as OvnMirrorSpec['type'];
    } else if (k === 'mirror.key') {
      const s = typeof v === 'string' ? v.trim() : '';
      if (!/^[0-9]{1,4}$/.test(s) || Number(s) > MAX_KEY)
        throw new InvalidOptionError(
          k,
          v,
          `a tunnel key from 0 to ${MAX_KEY} (key+1 carries what it receives)`,
        );
      key = Number(s);
    } else
      throw new InvalidOptionError(
        k,
        v,
        'mirror.sink, mirror.type or mirror.key: OVN 23.03 mirrors a logical port only to a GRE/ERSPAN collector (no local monitor: see the README, "OVN mode: mirroring")',
      );
  }
  if (sink === undefined) {
    if (typeGiven !== undefined || key !== undefined)
      throw new InvalidOptionError(
        'mirror.sink',
        undefined,
        'a collector address with mirror.type/mirror.key',
      );
    return undefined;
  }
  return { sink, type, key: key ?? 0 };
}

/** The NB Mirror rows of a port: names unique in NB (the table's index), one per direction. */
export function mirrorRows(lsp: string, owner: string, m: OvnMirrorSpec) {
  return (['from-lport', 'to-lport'] as const).map((filter, i) => ({
    name: `${lsp}/${filter === 'from-lport' ? 'sent' : 'received'}`,
    filter,
    sink: m.sink,
    type: m.type,
    index: m.key + i,
    external_ids: { [OVN_MIRROR_EXT.owner]: owner, [OVN_MIRROR_EXT.port]: lsp },
  }));
}
