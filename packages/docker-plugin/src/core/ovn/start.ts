// Connects what OVN mode needs: the NB replica (OvnClient, leader-only on a cluster), this host's own
// Open_vSwitch database (OvnChassisDb: system-id, br-int, ovn-installed) and, for the remote wait, a small
// SB replica of the chassis' reports (Chassis_Private), then builds the OvnDriver.

import { CHASSIS_CFG_SB_TABLES, OvnChassisDb, OvnClient, type SbReplica } from '@ovs-container-network/ovn';
import { OvsdbSession, Replica, type TlsOptions } from '@ovs-container-network/ovsdb';
import type { KernelHandle } from '../kernel.js';
import { type Logger, silentLogger } from '../types.js';
import { type OvnConfig, parseSbRemotes } from './config.js';
import { OvnDriver } from './driver.js';

export interface OvnMode {
  readonly driver: OvnDriver;
  close(): Promise<void>;
}

export async function startOvnMode(o: {
  name: string;
  config: OvnConfig;
  /** This host's Open_vSwitch endpoint(s) (`--ovsdb`) and TLS. */
  ovsdb: string | readonly string[];
  ovsdbTls?: TlsOptions | undefined;
  kernel: KernelHandle;
  prefix?: string | undefined;
  graceMs?: number | undefined;
  logger?: Logger | undefined;
}): Promise<OvnMode> {
  const ovn = await OvnClient.connect({ nb: o.config.nb, ...(o.config.tls ? { tls: o.config.tls } : {}) });
  let chassis: OvnChassisDb;
  try {
    const endpoint = typeof o.ovsdb === 'string' ? o.ovsdb : o.ovsdb.join(',');
    chassis = await OvnChassisDb.connect(endpoint, o.ovsdbTls ? { client: { tls: o.ovsdbTls } } : {});
  } catch (err) {
    await ovn.close();
    throw err;
  }
  const log = o.logger ?? silentLogger;
  const sb = chassisReports(o.config, chassis, log);
  const driver = new OvnDriver({
    name: o.name,
    ovn,
    chassis,
    ...(sb ? { sb } : {}),
    kernel: o.kernel,
    config: o.config,
    ...(o.prefix === undefined ? {} : { prefix: o.prefix }),
    ...(o.graceMs === undefined ? {} : { graceMs: o.graceMs }),
    ...(o.logger ? { logger: o.logger } : {}),
  });
  return {
    driver,
    async close() {
      await sb?.close();
      await chassis.close();
      await ovn.close();
    },
  };
}

/**
 * The SB replica the remote wait reads (Chassis and Chassis_Private only): on `--ovn-sb`'s remotes, else on
 * this chassis' `external_ids:ovn-remote`. Not awaited: until it has synced (or whenever its connection is
 * down) the wait still ends through NB hv_cfg. Undefined when off or when ovn-remote is unusable (logged).
 */
function chassisReports(
  cfg: OvnConfig,
  chassis: OvnChassisDb,
  log: Logger,
): { replica: SbReplica; live(): boolean; close(): Promise<void> } | undefined {
  if (cfg.remoteWaitMs <= 0 || cfg.sb === 'off') return undefined;
  let remotes = cfg.sb;
  if (remotes === undefined) {
    const root = [...chassis.replica.table('Open_vSwitch').values()][0];
    const value = root?.external_ids['ovn-remote'] ?? '';
    try {
      remotes = parseSbRemotes('Open_vSwitch external_ids:ovn-remote', value, cfg.tls !== undefined);
    } catch (err) {
      log.warn(
        { err: (err as Error).message },
        'the remote wait reads NB hv_cfg only (give --ovn-sb, or --ovn-sb off to silence this)',
      );
      return undefined;
    }
  }
  // Any member will do: a report read from a follower is committed, and a late one only delays the wait.
  const session = new OvsdbSession({
    remotes,
    database: 'OVN_Southbound',
    leaderOnly: false,
    ...(cfg.tls ? { client: { tls: cfg.tls } } : {}),
  });
  const replica: SbReplica = new Replica(session, { tables: CHASSIS_CFG_SB_TABLES as never });
  // Said once per outage, not per retry: the wait goes on through NB hv_cfg meanwhile.
  let up = true;
  session.on('disconnected', (err) => {
    if (!up) return;
    up = false;
    log.warn(
      { sb: remotes, err: err?.message },
      'the SB replica of the chassis reports is not connected; the remote wait reads NB hv_cfg until it is',
    );
  });
  session.on('connected', () => {
    up = true;
  });
  session.start();
  log.info({ sb: remotes }, 'the remote wait reads the chassis reports from the SB');
  return {
    replica,
    live: () => session.status.state === 'connected',
    async close() {
      await replica.close();
      await session.close();
    },
  };
}
