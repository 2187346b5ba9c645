// The Orchestrator on OVN: attach a process, namespace or container to an OVN logical switch made by the
// plugin's OVN mode (same switch on every host). Addresses come from NB exactly as for Docker endpoints
// (holds on `ocn/<switch>/<ip>`), the interface is wired by the Orchestrator onto the integration bridge with
// `external_ids:iface-id`, and attach resolves once ovn-controller set `ovn-installed`. All or nothing: any
// failure undoes the wiring and the NB port. Idempotent: a repeated attach returns the existing one.
import type { TlsOptions } from '@ovs-container-network/ovsdb';
import { AttachFailedError, NotAttachedError } from '../core/errors.js';
import type { KernelHandle } from '../core/kernel.js';
import { openHostKernel } from '../core/link-reaper.js';
import { generateMac, normalizeMac } from '../core/names.js';
import type { OvnConfig } from '../core/ovn/config.js';
import type { OvnDriver } from '../core/ovn/driver.js';
import { checkSwitchName, parseDnsNames } from '../core/ovn/model.js';
import type { OvnQos } from '../core/ovn/qos.js';
import { startOvnMode } from '../core/ovn/start.js';
import { policerBurst, type RateLimitsSpec } from '../core/qos.js';

import { Orchestrator, type OrchestratorOptions } from './orchestrator.js';
import type { Attachment, TargetRef } from './types.js';
import { checkOrchestratorDscp, checkOrchestratorLimits } from './validate.js';

export interface OvnAttachRequest {
  /** The logical switch (the network's `-o logical_switch`). */
  logicalSwitch: string;
  target: TargetRef;
  ifname: string;
  /** Defaults as the Orchestrator's: the container reference, `pid-<PID>`, or the namespace path. */
  containerId?: string;
  /** An address to ask for (IPv4 or IPv6); the others are allocated. */
  ip?: string;
  mac?: string;
  /** Names OVN's DNS answers on the switch. */
  dnsNames?: readonly string[];
  /**
   * Rate limits (container's point of view, as the Orchestrator's): NB QoS rows on the switch, over the
   * network's `-o rate.*` defaults; `null` for a direction lifts its default. An OVN limit is a policer:
   * the burst defaults to 300 ms at the rate. Change them later with `setRateLimit`.
   */
  rateLimit?: RateLimitsSpec;
  /** DSCP mark (0..63) of what the interface sends, over the network's `-o dscp`; null: none. */
  dscp?: number | null;
  signal?: AbortSignal;
}

export interface OvnAttachment extends Attachment {
  /** The logical switch port (= iface-id). */
  logicalPort: string;
  addresses: string[];
}

/** What `setRateLimit` changes and returns. */
export interface OvnRateLimitResult {
  logicalPort: string;
  qos: OvnQos;
}

function defaultContainerId(t: TargetRef): string {
  if ('container' in t) return t.container;
  if ('pid' in t) return `pid-${t.pid}`;
  return t.netns;
}

export class OvnOrchestrator {
  readonly orchestrator: Orchestrator;
  readonly driver: OvnDriver;
  readonly #close: () => Promise<void>;

  constructor(orchestrator: Orchestrator, driver: OvnDriver, close: () => Promise<void>) {
    this.orchestrator = orchestrator;
    this.driver = driver;
    this.#close = close;
  }

  /** `name` must be the plugin's driver name (the switches' `ocn-owner`). */
  static async connect(o: {
    name: string;
    ovn: OvnConfig;
    ovsdb?: string;
    ovsdbTls?: TlsOptions;
    orchestrator?: Omit<OrchestratorOptions, 'ovsdb'>;
  }): Promise<OvnOrchestrator> {
    const ovsdb = o.ovsdb ?? 'unix:/var/run/openvswitch/db.sock';
    const orchestrator = await Orchestrator.connect({ ...o.orchestrator, ovsdb });
    const kernel: KernelHandle = openHostKernel();
    try {
      const mode = await startOvnMode({ name: o.name, config: o.ovn, ovsdb, ovsdbTls: o.ovsdbTls, kernel });
      return new OvnOrchestrator(orchestrator, mode.driver, async () => {
        await mode.close();
        await orchestrator.close();
        kernel.close();
      });
    } catch (err) {
      await orchestrator.close();
      kernel.close();
      throw err;
    }
  }

  async attach(req: OvnAttachRequest): Promise<OvnAttachment> {
    const sw = checkSwitchName('logicalSwitch', req.logicalSwitch);
    const containerId = req.containerId ?? defaultContainerId(req.target);
    const key = `${containerId}/${req.ifname}`;
    const dnsNames = parseDnsNames(req.dnsNames?.join(','));
    const qos = {
      ...(req.rateLimit === undefined
        ? {}
        : { limits: checkOrchestratorLimits('rateLimit', req.rateLimit, undefined, policerBurst) }),
      ...(req.dscp === undefined ? {} : { dscp: checkOrchestratorDscp('dscp', req.dscp) }),
    };
    const existing = this.driver.attachedPort(key);
    if (existing) {
      const found = (await this.orchestrator.list({ containerId })).find((a) => a.ifname === req.ifname);
      if (found && found.externalIds['iface-id'] === existing.name) {
        await this.driver.waitReady(existing.name);
        return {
          ...found,
          logicalPort: existing.name,
          addresses: existing.addresses[0]?.split(' ').slice(1) ?? [],
        };
      }
      await this.driver.releaseAttached(key); // half made by an earlier attach that died: start over
    }
    const mac = req.mac ? normalizeMac('mac', req.mac) : generateMac(key);
    const port = await this.driver.claimForAttach({ sw, key, mac, ip: req.ip, dnsNames, qos });
    let attached: Attachment | undefined;
    try {
      attached = await this.orchestrator.attach({
        bridge: port.bridge,
        target: req.target,
        ifname: req.ifname,
        containerId,
        addresses: port.addresses,
        mac,
        mtu: port.mtu,
        ...(port.gateway ? { gateway: port.gateway } : {}),
        ...(port.gateway6 ? { gateway6: port.gateway6 } : {}),
        externalIds: { 'iface-id': port.port },
        ...(req.signal ? { signal: req.signal } : {}),
      });
      await this.driver.waitReady(port.port);
      return { ...attached, logicalPort: port.port, addresses: port.addresses };
    } catch (err) {
      const rollback: unknown[] = [];
      if (attached)
        await this.orchestrator
          .detach({ containerId, ifname: req.ifname })
          .catch((e: unknown) => rollback.push(e));
      await this.driver.releaseAttached(key).catch((e: unknown) => rollback.push(e));
      if (err instanceof AttachFailedError) throw err;
      throw new AttachFailedError(
        `attaching ${containerId} ${req.ifname} to logical switch ${sw} failed and was undone: ${(err as Error).message}`,
        { cause: err, rollbackErrors: rollback },
      );
    }
  }

  /**
   * Changes the rate limits (and with `dscp`, the mark) of an attached interface while it runs, as the
   * Orchestrator's setRateLimit does on a single host: a direction left out keeps its limit, `{ingress:
   * null}` lifts one, `null` lifts both. Resolves once every chassis applied it (NB → SB → ovn-controller's
   * meters), so traffic follows when it returns.
   */
  async setRateLimit(
    ref: { containerId?: string; target?: TargetRef; ifname: string },
    limits: RateLimitsSpec | null,
    opts: { dscp?: number | null } = {},
  ): Promise<OvnRateLimitResult> {
    const containerId = ref.containerId ?? (ref.target ? defaultContainerId(ref.target) : undefined);
    if (!containerId) throw new AttachFailedError('setRateLimit needs containerId or target');
    const port = this.driver.attachedPort(`${containerId}/${ref.ifname}`);
    if (!port)
      throw new NotAttachedError(`no OVN port is attached for ${containerId} interface ${ref.ifname}`);
    const mtu = this.driver.portMtu(port.name);
    const given =
      limits === null
        ? { ingress: null, egress: null }
        : checkOrchestratorLimits('limits', limits, mtu, policerBurst);
    const dscp = 'dscp' in opts ? { dscp: checkOrchestratorDscp('dscp', opts.dscp) } : {};
    const qos = await this.driver.setPortQos(port.name, { limits: given, ...dscp });
    return { logicalPort: port.name, qos };
  }

  /** Detaches the interface and deletes its logical port. True when something was removed. */
  async detach(ref: { containerId?: string; target?: TargetRef; ifname: string }): Promise<boolean> {
    const containerId = ref.containerId ?? (ref.target ? defaultContainerId(ref.target) : undefined);
    if (!containerId) throw new AttachFailedError('detach needs containerId or target');
    const key = `${containerId}/${ref.ifname}`;
    const had = this.driver.attachedPort(key) !== undefined;
    const detached = await this.orchestrator.detach({ containerId, ifname: ref.ifname });
    await this.driver.releaseAttached(key);
    return had || detached;
  }

  close(): Promise<void> {
    return this.#close();
  }
}
