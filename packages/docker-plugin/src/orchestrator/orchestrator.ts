// The orchestrator API: attach a network namespace (a pid, a namespace file, or a Docker container) to an
// OVS bridge, and everything `ovs-docker` does (add-port, del-port, del-ports, set-vlan), plus what it lacks:
// idempotent calls, rollback of partial failures, concurrency, and a target that dies mid-way leaving
// nothing behind. State lives only in OVS, in ovs-docker's layout (/usr/bin/ovs-docker: Interface
// external_ids container_id + container_iface), so both tools see each other's ports.

import { closeSync, constants as fsConstants, fstatSync, openSync, statSync } from 'node:fs';
import type { InvalidOptionError } from '../core/errors.js';
import {
  AlreadyAttachedError,
  AttachFailedError,
  NotAttachedError,
  OrchestratorArgumentError,
  PluginError,
  TargetGoneError,
} from '../core/errors.js';
import {
  addMirror,
  listMirrors,
  MIRROR_EXT,
  type MirrorInfo,
  type MirrorSource,
  parseMonitorName,
  removeMirrors,
  syncMirrors,
} from '../core/mirror.js';
import { validatePrefix, vethNames } from '../core/names.js';
import type { OvsBackend } from '../core/ovs/view.js';
import {
  applyPortQos,
  type RateLimits,
  type RateLimitsSpec,
  recordedLimits,
  type TypedOvs,
} from '../core/qos.js';
import { type DatapathType, datapathTypeProblem } from '../core/rules/datapath.js';
import type { Backend, PortRow } from './backend.js';
import { DEFAULT_DOCKER_SOCKET, DockerEngine, type DockerEngineOptions } from './docker-engine.js';
import { CoreBackend } from './ovs-backend.js';
import type {
  Attachment,
  AttachRequest,
  ContainerRef,
  InterfaceRef,
  ListFilter,
  MirrorRequest,
  MirrorSourceRef,
  TargetRef,
} from './types.js';
import {
  checkBridge,
  checkContainerId,
  checkIfname,
  checkOrchestratorLimits,
  checkTarget,
  checkVlanSetting,
  defaultContainerId,
  type NormalizedAttach,
  netnsPathOf,
  normalizeAttach,
} from './validate.js';

/** external_ids keys of ovs-docker (/usr/bin/ovs-docker, add_port). */
export const CONTAINER_ID_KEY = 'container_id';
export const CONTAINER_IFACE_KEY = 'container_iface';
/** Marks ports this library made (ovs-docker's own ports lack it). */
export const OWNER_KEY = 'ocn-owner';
export const OWNER_VALUE = 'ocn-orchestrator';
/** Default first characters of host-side veth names. */
export const DEFAULT_NAME_PREFIX = 'ocn';
/** Port external_ids: the namespace file of an attachment (where its egress shaper lives). */
export const NETNS_KEY = 'ocn-netns';

/** Steps of an attach, reported to `onStep` (for logging, metrics, and tests that interrupt an attach). */
export type AttachStep = 'resolved' | 'wired';

export interface OrchestratorOptions {
  /** OVSDB endpoint (`unix:PATH`, `tcp:HOST:PORT`, `ssl:HOST:PORT`); default unix:/var/run/openvswitch/db.sock. */
  ovsdb?: string;
  /** datapath_type of bridges the orchestrator creates: 'system' (kernel, default) or 'netdev' (userspace). */
  datapathType?: DatapathType;
  /** First characters of host-side veth names (1..6, default 'ocn'); the rest hashes container id + ifname. */
  namePrefix?: string;
  /** The Docker Engine API for `{container}` targets: options or a client; default /var/run/docker.sock. */
  docker?: DockerEngineOptions | DockerEngine;
  /**
   * Wait, like `ovs-vsctl` without --no-wait, until ovs-vswitchd has applied an attach or a VLAN change
   * before resolving (default true), so traffic follows the moment the call returns. Off for a database with
   * no ovs-vswitchd behind it.
   */
  waitForSwitch?: boolean;
  /** How long to wait for ovs-vswitchd (default 10 000 ms); an attach that times out is rolled back. */
  switchTimeoutMs?: number;
  /** Called after each step of an attach; an error thrown here fails the attach (and rolls it back). */
  onStep?: (
    step: AttachStep,
    info: { containerId: string; ifname: string; port: string },
  ) => void | Promise<void>;
}

export const DEFAULT_OVSDB = 'unix:/var/run/openvswitch/db.sock';

export interface OrchestratorDeps {
  backend: Backend;
  docker: DockerEngine;
  datapathType: string;
  namePrefix: string;
  onStep: OrchestratorOptions['onStep'];
  /** 0: do not wait for ovs-vswitchd. */
  switchTimeoutMs: number;
}

/** A resolved target: the namespace file, held open for the whole attach so it cannot vanish under us. */
interface HeldNetns {
  path: string;
  fd: number;
  ino: number;
  dev: number;
  describe: string;
}

export class Orchestrator {
  readonly #backend: Backend;
  readonly #docker: DockerEngine;
  readonly #datapathType: string;
  readonly #namePrefix: string;
  readonly #onStep: OrchestratorOptions['onStep'];
  readonly #switchTimeoutMs: number;
  /** Calls on the same (container id, ifname) run one after another; different ones run concurrently. */
  readonly #queues = new Map<string, Promise<unknown>>();
  #closed = false;

  /**
   * Connects to OVSDB (one session and replica for every call, reconnecting on its own) and opens a netlink
   * handle in the host namespace. Options are checked first: a bad one throws before anything is opened.
   */
  static async connect(opts: OrchestratorOptions = {}): Promise<Orchestrator> {
    const deps = checkOptions(opts);
    // Loaded on demand: fromCore() users bring their own OVS view and never load the session/replica.
    // The same OVSDB view the driver uses (plugin.ts): a reconnecting session and a replica.
    const { OvsdbBackend } = await import('../core/ovs/backend.js');
    const ovs = await OvsdbBackend.open({ endpoint: opts.ovsdb ?? DEFAULT_OVSDB, failFast: true });
    return new Orchestrator({ ...deps, backend: new CoreBackend({ ovs }) });
  }

  /**
   * An orchestrator on an OVS view/transactor the caller already has (e.g. the Docker driver's, to share
   * one replica in a service that runs both). `close()` leaves `ovs` open.
   */
  static fromCore(ovs: OvsBackend, opts: Omit<OrchestratorOptions, 'ovsdb'> = {}): Orchestrator {
    const deps = checkOptions(opts);
    return new Orchestrator({ ...deps, backend: new CoreBackend({ ovs, close: async () => {} }) });
  }

  constructor(deps: OrchestratorDeps) {
    this.#backend = deps.backend;
    this.#docker = deps.docker;
    this.#datapathType = deps.datapathType;
    this.#namePrefix = deps.namePrefix;
    this.#onStep = deps.onStep;
    this.#switchTimeoutMs = deps.switchTimeoutMs;
  }

  /**
   * Attaches a namespace to a bridge: veth pair, host end on the bridge as a Port with tag/trunks/external_ids
   * (one OVSDB transaction), container end moved in, renamed to `ifname`, configured (MTU, MAC, addresses,
   * routes, TX checksum offload off). Idempotent: a repeated call returns the existing attachment, with its
   * VLAN (tag/trunks) brought up to date; addresses, MTU and MAC of an existing attachment are left as they
   * are (detach first to change them); the same interface on another bridge is a ConflictError.
   * All or nothing: if any step fails, or the target exits during the call, everything is undone.
   */
  async attach(req: AttachRequest): Promise<Attachment> {
    const n = normalizeAttach(req);
    this.#checkOpen();
    return this.#serialize(`${n.containerId}\0${n.ifname}`, () => this.#attach(n, req.signal));
  }

  async #attach(n: NormalizedAttach, signal: AbortSignal | undefined): Promise<Attachment> {
    await this.#backend.ready();
    signal?.throwIfAborted();
    const { host, container: peer } = this.#names(n.containerId, n.ifname);

    const existing = this.#rows({ containerId: n.containerId }).find(
      (r) => r.ifaceExternalIds[CONTAINER_IFACE_KEY] === n.ifname,
    );
    if (existing) {
      if (existing.bridge !== n.bridge)
        throw new AlreadyAttachedError(
          `${n.containerId} ${n.ifname} is already attached to bridge ${existing.bridge} (port ${existing.port}); detach it first`,
        );
      if (await this.#backend.hostLinkExists(existing.port)) {
        const tag = n.trunks.length ? undefined : n.vlan;
        if (existing.tag !== tag || !sameNumbers(existing.trunks, n.trunks)) {
          await this.#backend.setVlan(existing, tag, n.trunks);
          await this.#switchApplied();
        }
        return this.#view(this.#findRow(existing.portUuid) ?? existing);
      }
      // The veth is gone (its namespace died): the port is stale. Replace it.
      await this.#backend.unwire([existing.port]);
    }

    const held = await this.#resolve(n.target);
    try {
      await this.#step('resolved', n, host);
      signal?.throwIfAborted();
      if (!this.#backend.bridgeExists(n.bridge))
        await this.#backend.ensureBridge(n.bridge, this.#datapathType);
      const ifaceExternalIds = {
        ...n.externalIds,
        [CONTAINER_ID_KEY]: n.containerId,
        [CONTAINER_IFACE_KEY]: n.ifname,
        [OWNER_KEY]: OWNER_VALUE,
        ...(n.monitor === undefined ? {} : { [MIRROR_EXT.monitor]: n.monitor }),
      };
      await this.#backend.wire({
        ...n,
        hostName: host,
        peerName: peer,
        netnsFd: held.fd,
        ifaceExternalIds,
        // The namespace file, for setRateLimit later (the egress shaper lives there).
        portExternalIds: { ...ifaceExternalIds, [NETNS_KEY]: held.path },
      });
      try {
        await this.#switchApplied();
        if (n.rateLimit !== undefined) await this.#applyLimits(host, held.fd, n.ifname, n.rateLimit);
        if (n.monitor !== undefined) await syncMirrors(this.#transactor(), OWNER_VALUE, n.bridge);
        await this.#step('wired', n, host);
        signal?.throwIfAborted();
        // The namespace is held open by our fd, so the wiring succeeded even if its process died meanwhile;
        // once we let go it would vanish and take the veth with it, leaving a dead OVS port. Check it now.
        this.#checkAlive(held);
      } catch (err) {
        const rollback = await this.#backend.unwire([host]).then(
          () => [],
          (e: unknown) => [e],
        );
        if (err instanceof TargetGoneError || (signal?.aborted && err === signal.reason)) throw err;
        throw new AttachFailedError(
          `attaching ${n.containerId} ${n.ifname} failed and was undone: ${message(err)}`,
          {
            cause: err,
            rollbackErrors: rollback,
          },
        );
      }
    } catch (err) {
      if (err instanceof PluginError || (signal?.aborted && err === signal.reason)) throw err;
      // The target may have gone while the backend worked: say so rather than the errno it caused.
      if (!isAlive(held))
        throw new TargetGoneError(`${held.describe} exited during the attach; nothing was left behind`, {
          cause: err,
        });
      throw new AttachFailedError(
        `attaching ${n.containerId} ${n.ifname} failed and was undone: ${message(err)}`,
        {
          cause: err,
        },
      );
    } finally {
      closeSync(held.fd);
    }
    const row = this.#rowsByPort(host)[0];
    if (!row)
      throw new AttachFailedError(`port ${host} is not in the replica after its transaction committed`);
    return this.#view(row);
  }

  /** Detaches one interface (ovs-docker del-port). Resolves true when something was removed, false when nothing was attached. */
  async detach(ref: InterfaceRef): Promise<boolean> {
    const ifname = checkIfname('ifname', ref?.ifname);
    const bridge = ref.bridge === undefined ? undefined : checkBridge(ref.bridge);
    const ids = await this.#containerIds(ref);
    this.#checkOpen();
    await this.#backend.ready();
    const rows = this.#rows({ containerIds: ids, bridge }).filter(
      (r) => r.ifaceExternalIds[CONTAINER_IFACE_KEY] === ifname,
    );
    if (rows.length === 0) return false;
    await Promise.all(
      rows.map((r) =>
        this.#serialize(`${r.ifaceExternalIds[CONTAINER_ID_KEY]}\0${ifname}`, () =>
          this.#backend.unwire([r.port]),
        ),
      ),
    );
    return true;
  }

  /**
   * Detaches every interface of a container (ovs-docker del-ports), or of every container on a bridge when
   * only `bridge` is given. Resolves with the number of ports removed.
   */
  async detachAll(ref: ContainerRef): Promise<number> {
    if (
      typeof ref !== 'object' ||
      ref === null ||
      (ref.containerId === undefined && ref.target === undefined && ref.bridge === undefined)
    )
      throw new OrchestratorArgumentError('ref', ref, 'an object with containerId, target and/or bridge');
    const bridge = ref.bridge === undefined ? undefined : checkBridge(ref.bridge);
    const ids =
      ref.containerId === undefined && ref.target === undefined ? undefined : await this.#containerIds(ref);
    this.#checkOpen();
    await this.#backend.ready();
    const rows = this.#rows({ containerIds: ids, bridge });
    if (rows.length === 0) return 0;
    await Promise.all(
      rows.map((r) =>
        this.#serialize(
          `${r.ifaceExternalIds[CONTAINER_ID_KEY]}\0${r.ifaceExternalIds[CONTAINER_IFACE_KEY]}`,
          () => this.#backend.unwire([r.port]),
        ),
      ),
    );
    return rows.length;
  }

  /**
   * Changes the VLAN of an attached interface (ovs-docker set-vlan): a number or `{vlan}` makes it an access
   * port, `{trunks}` a trunk, `{vlan: null}` untagged. Traffic follows at once; nothing else changes.
   */
  async setVlan(
    ref: InterfaceRef,
    setting: number | { vlan: number | null } | { trunks: readonly number[] },
  ): Promise<Attachment> {
    const ifname = checkIfname('ifname', ref?.ifname);
    const v = checkVlanSetting(setting);
    const bridge = ref.bridge === undefined ? undefined : checkBridge(ref.bridge);
    const ids = await this.#containerIds(ref);
    this.#checkOpen();
    await this.#backend.ready();
    const row = this.#rows({ containerIds: ids, bridge }).find(
      (r) => r.ifaceExternalIds[CONTAINER_IFACE_KEY] === ifname,
    );
    if (!row)
      throw new NotAttachedError(
        `no port is attached for container ${[...ids].join(' or ')} interface ${ifname}`,
      );
    const tag = 'trunks' in v ? undefined : (v.vlan ?? undefined);
    const trunks = 'trunks' in v ? [...v.trunks] : [];
    await this.#serialize(`${row.ifaceExternalIds[CONTAINER_ID_KEY]}\0${ifname}`, async () => {
      await this.#backend.setVlan(row, tag, trunks);
      await this.#switchApplied();
    });
    return this.#view(this.#findRow(row.portUuid) ?? row);
  }

  /** What is attached: every port with ovs-docker's container_id/container_iface external_ids, ours and ovs-docker's. */
  async list(filter: ListFilter = {}): Promise<Attachment[]> {
    const bridge = filter.bridge === undefined ? undefined : checkBridge(filter.bridge);
    const containerId = filter.containerId === undefined ? undefined : checkContainerId(filter.containerId);
    this.#checkOpen();
    await this.#backend.ready();
    return this.#rows({
      containerIds: containerId === undefined ? undefined : new Set([containerId]),
      bridge,
    })
      .map((r) => this.#view(r))
      .sort((a, b) => a.bridge.localeCompare(b.bridge) || a.port.localeCompare(b.port));
  }

  /**
   * Removes attachments whose host veth is gone (their namespace died after the attach: a container removed
   * without a detach). Resolves with what was removed.
   */
  async prune(filter: ListFilter = {}): Promise<Attachment[]> {
    const all = await this.list(filter);
    const dead: Attachment[] = [];
    for (const a of all) if (!(await this.#backend.hostLinkExists(a.port))) dead.push(a);
    if (dead.length) await this.#backend.unwire(dead.map((a) => a.port));
    return dead;
  }

  /** Deletes a bridge; with `ifEmpty` only when no port but its own is left (else a ConflictError). */
  async deleteBridge(name: string, opts: { ifEmpty?: boolean } = {}): Promise<boolean> {
    const bridge = checkBridge(name);
    this.#checkOpen();
    await this.#backend.ready();
    if (!this.#backend.bridgeExists(bridge)) return false;
    const left = this.#backend.bridgePortCount(bridge);
    if (opts.ifEmpty && left > 0)
      throw new AlreadyAttachedError(`bridge ${bridge} still has ${left} port(s); detach them first`);
    const rows = this.#rows({ bridge });
    if (rows.length) await this.#backend.unwire(rows.map((r) => r.port));
    await this.#backend.deleteBridge(bridge);
    return true;
  }

  // ---- rate limits and mirrors (core/qos.ts, core/mirror.ts) ----------------------------------------------

  /**
   * Sets (or with `null` lifts) the rate limits of an attached interface while it runs: the OVS port's HTB
   * QoS for what it receives, the token bucket on its interface for what it sends. Applied at once (the
   * ingress one within ovs-vswitchd's next reconfiguration, which this call waits for). A direction left out
   * keeps its limit; `{ingress: null}` lifts one. The namespace is the one recorded at attach time, or
   * `ref.target`.
   */
  async setRateLimit(ref: InterfaceRef, limits: RateLimitsSpec | null): Promise<Attachment> {
    const ifname = checkIfname('ifname', ref?.ifname);
    const given =
      limits === null
        ? { ingress: null, egress: null }
        : checkOrchestratorLimits('limits', limits, undefined);
    const bridge = ref.bridge === undefined ? undefined : checkBridge(ref.bridge);
    const ids = await this.#containerIds(ref);
    this.#checkOpen();
    await this.#backend.ready();
    const row = this.#rows({ containerIds: ids, bridge }).find(
      (r) => r.ifaceExternalIds[CONTAINER_IFACE_KEY] === ifname,
    );
    if (!row)
      throw new NotAttachedError(
        `no port is attached for container ${[...ids].join(' or ')} interface ${ifname}`,
      );
    const merged: RateLimits = { ...recordedLimits(row.portExternalIds) };
    for (const d of ['ingress', 'egress'] as const) if (d in given) merged[d] = given[d] ?? null;
    await this.#serialize(`${row.ifaceExternalIds[CONTAINER_ID_KEY]}\0${ifname}`, async () => {
      let netns: string | number | undefined = row.portExternalIds[NETNS_KEY];
      let held: HeldNetns | undefined;
      if (ref.target !== undefined) {
        held = await this.#resolve(checkTarget(ref.target));
        netns = held.fd;
      }
      try {
        if ('egress' in given && netns === undefined)
          throw new OrchestratorArgumentError(
            'ref',
            ref,
            'a target (the namespace of the interface was not recorded at attach time)',
          );
        await this.#applyLimits(row.port, 'egress' in given ? netns : undefined, ifname, merged);
      } finally {
        if (held) closeSync(held.fd);
      }
    });
    return this.#view(this.#findRow(row.portUuid) ?? row);
  }

  /**
   * Mirrors an attached interface's traffic (what it sends and receives), or a whole VLAN of a bridge, to a
   * monitor: an attachment made with `monitor: NAME`, or an OVS port of that name on the same bridge. A
   * mirror whose monitor is not there yet waits for it. It goes when its source interface is detached.
   */
  async mirror(req: MirrorRequest): Promise<MirrorInfo> {
    if (typeof req !== 'object' || req === null)
      throw new OrchestratorArgumentError('request', req, 'an object {source, to}');
    const to = (() => {
      try {
        return parseMonitorName('to', req.to);
      } catch (err) {
        const e = err as InvalidOptionError;
        throw new OrchestratorArgumentError(e.option, e.value, e.allowed);
      }
    })();
    const { bridge, source } = await this.#mirrorSource(req.source);
    const info = await addMirror(this.#transactor(), { bridge, source, to, owner: OWNER_VALUE });
    await this.#switchApplied();
    return info;
  }

  /** Removes the mirror of a source (see `mirror`); resolves with the number removed (0 or 1). */
  async unmirror(source: MirrorSourceRef): Promise<number> {
    const { bridge, source: s } = await this.#mirrorSource(source);
    const n = await removeMirrors(this.#transactor(), { owner: OWNER_VALUE, bridge, source: s });
    await this.#switchApplied();
    return n;
  }

  /** The mirrors this library made, with their output port (undefined while the monitor is missing). */
  async mirrors(filter: { bridge?: string } = {}): Promise<MirrorInfo[]> {
    this.#checkOpen();
    await this.#backend.ready();
    const all = await listMirrors(this.#transactor(), {
      owner: OWNER_VALUE,
      ...(filter.bridge === undefined ? {} : { bridge: checkBridge(filter.bridge) }),
    });
    return all.map(({ uuid: _u, ...m }) => m);
  }

  async #mirrorSource(ref: MirrorSourceRef): Promise<{ bridge: string; source: MirrorSource }> {
    if (typeof ref !== 'object' || ref === null)
      throw new OrchestratorArgumentError(
        'source',
        ref,
        'an interface {containerId | target, ifname} or {bridge, vlan}',
      );
    this.#checkOpen();
    if ('vlan' in ref) {
      const bridge = checkBridge(ref.bridge);
      const vlan = checkVlanSetting({ vlan: ref.vlan });
      if (!('vlan' in vlan) || vlan.vlan === null)
        throw new OrchestratorArgumentError('source.vlan', ref.vlan, 'a VLAN id 0..4095');
      await this.#backend.ready();
      return { bridge, source: { vlan: vlan.vlan } };
    }
    const ifname = checkIfname('source.ifname', ref.ifname);
    const bridge = ref.bridge === undefined ? undefined : checkBridge(ref.bridge);
    const ids = await this.#containerIds(ref);
    await this.#backend.ready();
    const row = this.#rows({ containerIds: ids, bridge }).find(
      (r) => r.ifaceExternalIds[CONTAINER_IFACE_KEY] === ifname,
    );
    if (!row)
      throw new NotAttachedError(
        `no port is attached for container ${[...ids].join(' or ')} interface ${ifname}`,
      );
    return { bridge: row.bridge, source: { port: row.port } };
  }

  #transactor(): TypedOvs {
    if (!this.#backend.transactor)
      throw new PluginError('PLUGIN_ERR_INTERNAL', 'this backend cannot do rate limits or mirrors');
    return this.#backend.transactor();
  }

  /** The port's QoS and recorded limits, and (with a namespace) the token bucket on the container's interface. */
  async #applyLimits(
    port: string,
    netns: string | number | undefined,
    ifname: string,
    limits: RateLimits,
  ): Promise<void> {
    if (netns !== undefined) {
      if (!this.#backend.shapePeer)
        throw new PluginError('PLUGIN_ERR_INTERNAL', 'this backend cannot shape traffic in a namespace');
      await this.#backend.shapePeer(port, netns, ifname, limits.egress);
    }
    await applyPortQos(this.#transactor(), { port, owner: OWNER_VALUE, limits });
    if (limits.ingress !== undefined) await this.#switchApplied();
  }

  /** The host-side veth (= OVS port) name an attach of this container id and interface uses. */
  portName(containerId: string, ifname: string): string {
    return this.#names(checkContainerId(containerId), checkIfname('ifname', ifname)).host;
  }

  /** Closes the OVSDB connection; calls after this reject. Attaches in flight finish first. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#queues.values()]);
    await this.#backend.close();
  }

  // ---- internals ------------------------------------------------------------------------------------------

  #names(containerId: string, ifname: string): { host: string; container: string } {
    return vethNames(`orchestrator\0${containerId}\0${ifname}`, this.#namePrefix);
  }

  #switchApplied(): Promise<void> {
    return this.#switchTimeoutMs > 0 ? this.#backend.applied(this.#switchTimeoutMs) : Promise.resolve();
  }

  #checkOpen(): void {
    if (this.#closed) throw new PluginError('PLUGIN_ERR_INTERNAL', 'the orchestrator is closed');
  }

  async #step(step: AttachStep, n: NormalizedAttach, port: string): Promise<void> {
    await this.#onStep?.(step, { containerId: n.containerId, ifname: n.ifname, port });
  }

  /** Runs `fn` after every earlier call queued under `key`; the queue entry goes when it is the last. */
  #serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#queues.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.#queues.set(key, tail);
    void tail.then(() => {
      if (this.#queues.get(key) === tail) this.#queues.delete(key);
    });
    return run;
  }

  /** Opens the target's namespace file, resolving a container through the Engine API. */
  async #resolve(target: TargetRef): Promise<HeldNetns> {
    let path: string;
    let describe: string;
    if ('container' in target) {
      const info = await this.#docker.resolveNetns(target.container);
      path = info.netnsPath;
      describe = `container ${target.container} (pid ${info.pid})`;
    } else {
      path = netnsPathOf(target);
      describe = 'pid' in target ? `process ${target.pid}` : `namespace ${path}`;
    }
    let fd: number;
    try {
      fd = openSync(path, fsConstants.O_RDONLY); // libuv opens every file O_CLOEXEC
    } catch (err) {
      throw new TargetGoneError(
        `${describe} does not exist (${path}: ${(err as NodeJS.ErrnoException).code})`,
        {
          cause: err,
        },
      );
    }
    const st = fstatSync(fd);
    // A target in our own namespace (e.g. a `--network host` container, or our own pid) would put the
    // container's addresses and routes on the host: refuse it. Namespaces are the same file when their
    // nsfs inode and device match (namespaces(7)).
    const own = statSync('/proc/self/ns/net');
    if (st.ino === own.ino && st.dev === own.dev) {
      closeSync(fd);
      throw new OrchestratorArgumentError(
        'target',
        target,
        `a network namespace other than this process's own: ${describe} shares it (${path}), e.g. a --network host container`,
      );
    }
    return { path, fd, ino: st.ino, dev: st.dev, describe };
  }

  #checkAlive(held: HeldNetns): void {
    if (!isAlive(held))
      throw new TargetGoneError(`${held.describe} exited during the attach; nothing was left behind`);
  }

  /** The container_id values a ref may be recorded under (ovs-docker records the ref as the user typed it). */
  async #containerIds(ref: { containerId?: string; target?: TargetRef }): Promise<Set<string>> {
    if (ref.containerId !== undefined) return new Set([checkContainerId(ref.containerId)]);
    if (ref.target === undefined)
      throw new OrchestratorArgumentError(
        'containerId',
        ref.containerId,
        'a container id, or a target to derive it from',
      );
    const target = checkTarget(ref.target);
    const ids = new Set([
      checkContainerId(defaultContainerId(target), 'containerId (derived from the target)'),
    ]);
    if ('container' in target) {
      // Also match the full id, the short id and the name, whichever the attach was recorded under.
      const info = await this.#docker.inspect(target.container).catch(() => undefined);
      if (info) for (const id of [info.id, info.id.slice(0, 12), info.name]) if (id) ids.add(id);
    }
    return ids;
  }

  #rows(f: {
    containerId?: string;
    containerIds?: Set<string> | undefined;
    bridge?: string | undefined;
  }): PortRow[] {
    const ids = f.containerIds ?? (f.containerId === undefined ? undefined : new Set([f.containerId]));
    // By index where the filter allows: a container's ports, a bridge's ports; every port only for a listing.
    const candidates = ids
      ? this.#backend.containerPortRows(ids)
      : f.bridge === undefined
        ? this.#backend.ports()
        : this.#backend.bridgePortRows(f.bridge);
    return candidates.filter((r) => {
      const id = r.ifaceExternalIds[CONTAINER_ID_KEY];
      if (id === undefined || r.ifaceExternalIds[CONTAINER_IFACE_KEY] === undefined) return false;
      if (ids && !ids.has(id)) return false;
      return f.bridge === undefined || r.bridge === f.bridge;
    });
  }

  #rowsByPort(port: string): PortRow[] {
    const row = this.#backend.portRow(port);
    return row ? [row] : [];
  }

  #findRow(portUuid: string): PortRow | undefined {
    return this.#backend.portRowByUuid(portUuid);
  }

  #view(r: PortRow): Attachment {
    return {
      bridge: r.bridge,
      port: r.port,
      containerId: r.ifaceExternalIds[CONTAINER_ID_KEY] ?? '',
      ifname: r.ifaceExternalIds[CONTAINER_IFACE_KEY] ?? '',
      vlan: r.tag,
      trunks: [...r.trunks],
      externalIds: { ...r.ifaceExternalIds },
      ofport: r.ofport,
      managed: r.ifaceExternalIds[OWNER_KEY] === OWNER_VALUE,
    };
  }
}

const OPTION_KEYS = new Set([
  'ovsdb',
  'datapathType',
  'namePrefix',
  'docker',
  'onStep',
  'waitForSwitch',
  'switchTimeoutMs',
]);

function checkOptions(opts: OrchestratorOptions): Omit<OrchestratorDeps, 'backend'> {
  if (typeof opts !== 'object' || opts === null)
    throw new OrchestratorArgumentError(
      'options',
      opts,
      'an object {ovsdb?, datapathType?, namePrefix?, docker?, onStep?}',
    );
  for (const k of Object.keys(opts))
    if (!OPTION_KEYS.has(k))
      throw new OrchestratorArgumentError('options', k, `one of ${[...OPTION_KEYS].join(', ')}`);
  if (opts.ovsdb !== undefined && (typeof opts.ovsdb !== 'string' || !/^(unix|tcp|ssl):./.test(opts.ovsdb)))
    throw new OrchestratorArgumentError(
      'ovsdb',
      opts.ovsdb,
      'an endpoint unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT',
    );
  const datapathType = opts.datapathType ?? 'system';
  const dpProblem = datapathTypeProblem(datapathType);
  if (dpProblem) throw new OrchestratorArgumentError('datapathType', datapathType, dpProblem);
  const namePrefix = opts.namePrefix ?? DEFAULT_NAME_PREFIX;
  try {
    validatePrefix(namePrefix);
  } catch {
    throw new OrchestratorArgumentError(
      'namePrefix',
      namePrefix,
      '1 to 6 lowercase letters or digits, starting with a letter',
    );
  }
  if (opts.onStep !== undefined && typeof opts.onStep !== 'function')
    throw new OrchestratorArgumentError('onStep', opts.onStep, 'a function');
  const docker =
    opts.docker instanceof DockerEngine
      ? opts.docker
      : new DockerEngine(opts.docker ?? { socketPath: DEFAULT_DOCKER_SOCKET });
  if (opts.waitForSwitch !== undefined && typeof opts.waitForSwitch !== 'boolean')
    throw new OrchestratorArgumentError('waitForSwitch', opts.waitForSwitch, 'a boolean');
  const timeout = opts.switchTimeoutMs ?? 10_000;
  if (!Number.isInteger(timeout) || timeout <= 0)
    throw new OrchestratorArgumentError('switchTimeoutMs', opts.switchTimeoutMs, 'a positive integer (ms)');
  const switchTimeoutMs = opts.waitForSwitch === false ? 0 : timeout;
  return { docker, datapathType, namePrefix, onStep: opts.onStep, switchTimeoutMs };
}

function isAlive(held: HeldNetns): boolean {
  try {
    const st = statSync(held.path);
    return st.ino === held.ino && st.dev === held.dev;
  } catch {
    return false;
  }
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
