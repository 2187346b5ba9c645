// Chassis setup as typed transactions on a chassis' own Open_vSwitch database: the `external_ids`
// ovn-controller reads (ovn-controller(8): system-id, ovn-remote, ovn-encap-type, ovn-encap-ip,
// ovn-bridge, ovn-bridge-datapath-type), the integration bridge (netdev-capable, fail-mode secure,
// in-band control off, as ovn-controller's own create_br_int makes it), binding an Interface to a logical
// port (`external_ids:iface-id`), and the wait for `external_ids:ovn-installed`.

import { isIP } from 'node:net';
import {
  database,
  type ModelRows,
  OvsdbSession,
  optimistic,
  parseEndpoint,
  Replica,
  type SessionOptions,
  type Transaction,
} from '@ovs-container-network/ovsdb';
import * as OVS from '@ovs-container-network/ovsdb/models/open-vswitch';
import { OvnInvalidArgumentError, OvnNotFoundError } from './errors.js';
import { type InstalledObserved, type WaitOptions, waitForOvnInstalled } from './propagation.js';
import { replicaTransactor } from './transactor.js';

export type EncapType = 'geneve' | 'vxlan' | 'stt';
const ENCAP_TYPES: readonly EncapType[] = ['geneve', 'vxlan', 'stt'];

export interface ChassisConfig {
  /** `system-id`: the SB Chassis name; unique per chassis. */
  systemId: string;
  /** The SB remotes ovn-controller connects to (`ovn-remote`, comma-joined when several). */
  ovnRemote: string | readonly string[];
  /** Tunnel encapsulation(s) (default geneve). */
  encapType?: EncapType | readonly EncapType[];
  /** The chassis' tunnel endpoint address (IPv4 or IPv6). */
  encapIp: string;
  /** `ovn-bridge-datapath-type`: 'netdev' for the userspace datapath, 'system' for the kernel one. */
  bridgeDatapathType?: string;
  /** `ovn-bridge` (default: ovn-controller's default, br-int). */
  integrationBridge?: string;
  /** More `external_ids` to set (e.g. `ovn-encap-csum`); they must not repeat the keys above. */
  extra?: Readonly<Record<string, string>>;
}

const NAME_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The `Open_vSwitch` `external_ids` for a chassis, validated. Pure. */
export function chassisExternalIds(cfg: ChassisConfig): Record<string, string> {
  if (typeof cfg !== 'object' || cfg === null)
    throw new OvnInvalidArgumentError('chassis config', cfg, 'an object');
  if (typeof cfg.systemId !== 'string' || !NAME_RE.test(cfg.systemId))
    throw new OvnInvalidArgumentError('systemId', cfg.systemId, '1-64 characters of A-Z a-z 0-9 _ . : -');
  const remotes = typeof cfg.ovnRemote === 'string' ? cfg.ovnRemote.split(',') : cfg.ovnRemote;
  if (!Array.isArray(remotes) || remotes.length === 0)
    throw new OvnInvalidArgumentError(
      'ovnRemote',
      cfg.ovnRemote,
      'an SB endpoint or a non-empty list of them',
    );
  for (const r of remotes) {
    try {
      parseEndpoint(r);
    } catch (err) {
      throw new OvnInvalidArgumentError('ovnRemote', r, 'unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT', {
        cause: err,
      });
    }
  }
  const encaps =
    cfg.encapType === undefined
      ? ['geneve']
      : typeof cfg.encapType === 'string'
        ? [cfg.encapType]
        : cfg.encapType;
  if (
    !Array.isArray(encaps) ||
    encaps.length === 0 ||
    encaps.some((e) => !ENCAP_TYPES.includes(e as EncapType))
  )
    throw new OvnInvalidArgumentError('encapType', cfg.encapType, ENCAP_TYPES.join(', '));
  if (typeof cfg.encapIp !== 'string' || isIP(cfg.encapIp) === 0)
    throw new OvnInvalidArgumentError('encapIp', cfg.encapIp, 'an IPv4 or IPv6 address');
  const ids: Record<string, string> = {
    'system-id': cfg.systemId,
    'ovn-remote': remotes.join(','),
    'ovn-encap-type': encaps.join(','),
    'ovn-encap-ip': cfg.encapIp,
  };
  if (cfg.bridgeDatapathType !== undefined) {
    if (typeof cfg.bridgeDatapathType !== 'string' || !/^[a-z]*$/.test(cfg.bridgeDatapathType))
      throw new OvnInvalidArgumentError(
        'bridgeDatapathType',
        cfg.bridgeDatapathType,
        "'netdev', 'system' or ''",
      );
    ids['ovn-bridge-datapath-type'] = cfg.bridgeDatapathType;
  }
  if (cfg.integrationBridge !== undefined) {
    checkIfName('integrationBridge', cfg.integrationBridge);
    ids['ovn-bridge'] = cfg.integrationBridge;
  }
  for (const [k, v] of Object.entries(cfg.extra ?? {})) {
    if (k in ids) throw new OvnInvalidArgumentError(`extra.${k}`, v, 'a key not set by the other options');
    if (typeof v !== 'string') throw new OvnInvalidArgumentError(`extra.${k}`, v, 'a string');
    ids[k] = v;
  }
  return ids;
}

function checkIfName(field: string, name: unknown): asserts name is string {
  // IFNAMSIZ is 16 with the NUL; '/' and whitespace are not allowed in Linux interface names.
  if (typeof name !== 'string' || name.length === 0 || name.length > 15 || /[/\s]/.test(name))
    throw new OvnInvalidArgumentError(
      field,
      name,
      'an interface name of 1-15 characters without "/" or spaces',
    );
}

/**
 * Adds the chassis' `external_ids` to a transaction: each key replaced (a map mutation deletes the keys
 * then inserts the new pairs, RFC 7047 §5.1 applies mutations in order), other keys left alone. Idempotent.
 */
export function configureChassis(t: Transaction, cfg: ChassisConfig): void {
  const ids = chassisExternalIds(cfg);
  t.mutate(
    OVS.Open_vSwitch,
    [],
    [
      ['external_ids', 'delete', Object.keys(ids)],
      ['external_ids', 'insert', ids],
    ],
  );
}

export interface IntegrationBridgeOptions {
  /** Default br-int. */
  name?: string;
  /** Default 'netdev' (this project's machines have no kernel datapath); '' or 'system' for the kernel. */
  datapathType?: string;
}

export type ChassisRows = ModelRows<typeof OVS.model>;

/** The tables a chassis replica keeps: enough for the setup helpers and the ovn-installed wait. */
export const CHASSIS_TABLES = {
  Open_vSwitch: { columns: ['external_ids', 'bridges'] },
  Bridge: {
    columns: ['name', 'ports', 'datapath_type', 'fail_mode', 'other_config'],
    indexes: { byName: (b: OVS.Bridge) => b.name },
  },
  Port: { columns: ['name', 'interfaces'], indexes: { byName: (p: OVS.Port) => p.name } },
  Interface: {
    columns: ['name', 'type', 'external_ids', 'ofport'],
    indexes: { byName: (i: OVS.Interface) => i.name },
  },
} as const;

/**
 * A chassis' own Open_vSwitch database: a session and a replica of the tables above.
 * `const ch = await OvnChassisDb.connect('unix:/run/openvswitch/db.sock')`.
 */
export class OvnChassisDb {
  readonly session: OvsdbSession;
  readonly replica: Replica<ChassisRows>;
  readonly db = () => database(replicaTransactor(this.replica), OVS.model);

  constructor(opts: Omit<SessionOptions, 'database'>) {
    this.session = new OvsdbSession({ ...opts, database: 'Open_vSwitch' });
    this.replica = new Replica<ChassisRows>(this.session, { tables: CHASSIS_TABLES as never });
  }

  static async connect(
    endpoint: string,
    opts: Omit<SessionOptions, 'database' | 'remotes'> = {},
  ): Promise<OvnChassisDb> {
    const c = new OvnChassisDb({ ...opts, remotes: endpoint });
    c.session.start();
    try {
      await c.replica.ready;
    } catch (err) {
      await c.close();
      throw err;
    }
    return c;
  }

  /** Sets the chassis' external_ids (see configureChassis). */
  async configure(cfg: ChassisConfig): Promise<void> {
    await this.db().run((t) => configureChassis(t, cfg));
  }

  /**
   * Creates the integration bridge, or brings an existing one to the settings ovn-controller expects
   * (datapath type, fail-mode secure, disable-in-band). Safe with concurrent writers: creation is guarded by
   * a `wait` that no bridge of that name exists, and rebuilt from the replica if one appeared meanwhile.
   */
  async ensureIntegrationBridge(opts: IntegrationBridgeOptions = {}): Promise<string> {
    const name = opts.name ?? 'br-int';
    checkIfName('name', name);
    const datapathType = opts.datapathType ?? 'netdev';
    if (typeof datapathType !== 'string' || !/^[a-z]*$/.test(datapathType))
      throw new OvnInvalidArgumentError('datapathType', datapathType, "'netdev', 'system' or ''");
    const settings = { datapath_type: datapathType, fail_mode: 'secure' as const };
    return optimistic(this.replica, OVS.model, (t, r) => {
      const existing = r.table('Bridge').find('byName', name);
      if (existing) {
        t.update(OVS.Bridge, [['_uuid', '==', existing._uuid]], settings);
        t.mutate(
          OVS.Bridge,
          [['_uuid', '==', existing._uuid]],
          [
            ['other_config', 'delete', ['disable-in-band']],
            ['other_config', 'insert', { 'disable-in-band': 'true' }],
          ],
        );
        return existing._uuid;
      }
      t.wait(OVS.Bridge, {
        where: [['name', '==', name]],
        columns: ['name'],
        until: '==',
        rows: [],
        timeout: 0,
      });
      const iface = t.insert(OVS.Interface, { name, type: 'internal' });
      const port = t.insert(OVS.Port, { name, interfaces: [iface] });
      const bridge = t.insert(OVS.Bridge, {
        name,
        ports: [port],
        ...settings,
        other_config: { 'disable-in-band': 'true' },
      });
      t.mutate(OVS.Open_vSwitch, [], [['bridges', 'insert', [bridge]]]);
      return bridge;
    }).then((u) => String(u));
  }

  /**
   * Adds a port for an existing kernel interface (a veth end, say) to a bridge, bound to a logical port
   * (`external_ids:iface-id`), in one transaction. Refuses a name already used by a Port.
   */
  async addInterface(opts: { bridge?: string; name: string; ifaceId?: string }): Promise<void> {
    const bridgeName = opts.bridge ?? 'br-int';
    checkIfName('name', opts.name);
    if (opts.ifaceId !== undefined && (typeof opts.ifaceId !== 'string' || opts.ifaceId === ''))
      throw new OvnInvalidArgumentError('ifaceId', opts.ifaceId, 'a non-empty logical port name');
    await this.replica.ready;
    const bridge = this.replica.table('Bridge').find('byName', bridgeName);
    if (!bridge) throw new OvnNotFoundError('Bridge', bridgeName);
    await this.db().run((t) => {
      t.wait(OVS.Port, {
        where: [['name', '==', opts.name]],
        columns: ['name'],
        until: '==',
        rows: [],
        timeout: 0,
      });
      const iface = t.insert(OVS.Interface, {
        name: opts.name,
        external_ids: opts.ifaceId === undefined ? {} : { 'iface-id': opts.ifaceId },
      });
      const port = t.insert(OVS.Port, { name: opts.name, interfaces: [iface] });
      t.mutate(OVS.Bridge, [['_uuid', '==', bridge._uuid]], [['ports', 'insert', [port]]]);
    });
  }

  /** Binds an existing OVS Interface to a logical port: sets `external_ids:iface-id`. */
  async bindInterface(name: string, ifaceId: string): Promise<void> {
    checkIfName('name', name);
    if (typeof ifaceId !== 'string' || ifaceId === '')
      throw new OvnInvalidArgumentError('ifaceId', ifaceId, 'a non-empty logical port name');
    await this.replica.ready;
    if (!this.replica.table('Interface').find('byName', name)) throw new OvnNotFoundError('Interface', name);
    await this.db().run((t) =>
      t.mutate(
        OVS.Interface,
        [['name', '==', name]],
        [
          ['external_ids', 'delete', ['iface-id']],
          ['external_ids', 'insert', { 'iface-id': ifaceId }],
        ],
      ),
    );
  }

  /** Waits for `external_ids:ovn-installed="true"` on the Interface bound to `ifaceId`. */
  waitForOvnInstalled(ifaceId: string, opts: WaitOptions = {}): Promise<InstalledObserved> {
    return waitForOvnInstalled(this.replica, ifaceId, opts);
  }

  async close(): Promise<void> {
    await this.replica.close();
    await this.session.close();
  }
}
