// Network records on bridges (records.ts: external_ids:ocn-net-<id>=<JSON>): reading them from the view
// without parsing JSON on every call, and the builders that write them.
//
//   for (const { record, bridge } of networkRecords(ovs)) …          // every valid record, any owner
//   const found = findNetworkRecord(ovs, id);                       // O(bridges) key lookups, no parsing
//   await ovs.optimistic((t) => { verifyNetworkRecords(t, bridge); putNetworkRecord(t, bridge._uuid, rec); });
import { verify } from '@ovs-container-network/ovsdb';
import { decodeNetwork, encodeNetwork, NET_KEY_PREFIX, type NetworkRecord, netKey } from '../records.js';
import { type BridgeRow, type BridgeUuid, OVS, type OvsTransaction } from './model.js';
import type { OvsView } from './view.js';

/**
 * Decoded records per version of a bridge's external_ids. Replica values are immutable, and a row change
 * keeps the value objects of the columns it did not touch, so this cache survives the Bridge.ports change
 * every attach makes and goes only when external_ids itself changes (a network added or removed); each
 * record text is then parsed and checked once, the first time it is read. `null` marks a key whose text is
 * not a valid record.
 */
const parsed = new WeakMap<BridgeRow['external_ids'], Map<string, NetworkRecord | null>>();

/** The valid record under external_ids key `key` of `bridge` (decodeNetwork), parsed once per version. */
export function recordAt(bridge: BridgeRow, key: string): NetworkRecord | undefined {
  let cache = parsed.get(bridge.external_ids);
  if (!cache) {
    cache = new Map();
    parsed.set(bridge.external_ids, cache);
  }
  let r = cache.get(key);
  if (r === undefined) {
    r = decodeNetwork(bridge.external_ids[key]) ?? null;
    cache.set(key, r);
  }
  return r ?? undefined;
}

/** The network ids recorded on a bridge (valid or not). */
export function recordKeys(bridge: BridgeRow): string[] {
  return Object.keys(bridge.external_ids).filter((k) => k.startsWith(NET_KEY_PREFIX));
}

/** Every valid network record in OVS (any owner), with its bridge. */
export function* networkRecords(view: OvsView): Iterable<{ record: NetworkRecord; bridge: BridgeRow }> {
  for (const bridge of view.bridges()) {
    for (const k in bridge.external_ids) {
      if (!k.startsWith(NET_KEY_PREFIX)) continue;
      const record = recordAt(bridge, k);
      if (record) yield { record, bridge };
    }
  }
}

/** The valid record of network `id` (any owner) and its bridge. */
export function findNetworkRecord(
  view: OvsView,
  id: string,
): { record: NetworkRecord; bridge: BridgeRow } | undefined {
  const key = netKey(id);
  for (const bridge of view.bridges()) {
    if (!(key in bridge.external_ids)) continue;
    const record = recordAt(bridge, key);
    if (record && record.id === id) return { record, bridge };
  }
  return undefined;
}

/** Records a network on an existing bridge. */
export function putNetworkRecord(t: OvsTransaction, bridge: BridgeUuid, record: NetworkRecord): void {
  t.mutate(
    OVS.Bridge,
    [['_uuid', '==', bridge]],
    [['external_ids', 'insert', { [netKey(record.id)]: encodeNetwork(record) }]],
    { expect: 'one' },
  );
}

/** Removes a network's record from its bridge. */
export function deleteNetworkRecord(t: OvsTransaction, bridge: BridgeUuid, id: string): void {
  t.mutate(OVS.Bridge, [['_uuid', '==', bridge]], [['external_ids', 'delete', [netKey(id)]]]);
}

/**
 * Guards a decision made from the bridge's records (a free VLAN, the last network on a bridge): the
 * transaction fails, and `optimistic` decides again, if another writer changed them meanwhile.
 */
export function verifyNetworkRecords(t: OvsTransaction, bridge: BridgeRow): void {
  t.add(verify(OVS.Bridge, bridge, ['external_ids']));
}

/** The external_ids entry of a record, for a bridge inserted in the same transaction (addBridge). */
export function networkRecordEntry(record: NetworkRecord): Record<string, string> {
  return { [netKey(record.id)]: encodeNetwork(record) };
}
