// Connects what OVN mode needs: the NB replica (OvnClient, leader-only on a cluster) and this host's own
// Open_vSwitch database (OvnChassisDb: system-id, br-int, ovn-installed), then builds the OvnDriver.

import { OvnChassisDb, OvnClient } from '@ovs-container-network/ovn';
import type { TlsOptions } from '@ovs-container-network/ovsdb';
import type { KernelHandle } from '../kernel.js';
import type { Logger } from '../types.js';
import type { OvnConfig } from './config.js';
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
  const driver = new OvnDriver({
    name: o.name,
    ovn,
    chassis,
    kernel: o.kernel,
    config: o.config,
    ...(o.prefix === undefined ? {} : { prefix: o.prefix }),
    ...(o.graceMs === undefined ? {} : { graceMs: o.graceMs }),
    ...(o.logger ? { logger: o.logger } : {}),
  });
  return {
    driver,
    async close() {
      await chassis.close();
      await ovn.close();
    },
  };
}
