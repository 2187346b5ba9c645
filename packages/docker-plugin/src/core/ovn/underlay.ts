// Keeps OVS's tunnel-neighbour cache warm on the userspace datapath. There, OVS native tunnelling resolves a
// remote chassis' underlay address (`ovs-appctl tnl/neigh/show`) only when a GENEVE packet needs it, and
// drops that packet meanwhile: the first packet between two hosts was lost, below anything the remote wait
// covers. OVS also fills the cache from the ARP replies it sees on the underlay bridge, so one UDP datagram
// from this host to each remote encap IP (to the discard port, 9), which the kernel resolves over that
// bridge, fills this host's entry. Each host does it for its own cache: when a chassis appears in the SB,
// before every remote wait, and every minute (entries age out in OVS after idle time, `tnl/neigh/aging`),
// at most once a minute per address. A kernel neighbour entry still valid (REACHABLE, or STALE until the
// kernel re-probes it) sends no ARP, so the cache then fills only at OVS's own first packet or that probe.

import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { SbReplica } from '@ovs-container-network/ovn';
import type { Logger } from '../types.js';

const DISCARD_PORT = 9;
/** Re-send to an address at most this often (well below OVS's default neighbour ageing of 15 minutes). */
export const WARM_EVERY_MS = 60_000;

export class TunnelNeighbours {
  readonly #sb: SbReplica;
  readonly #self: () => string;
  readonly #log: Logger;
  readonly #sentAt = new Map<string, number>();
  readonly #sockets = new Map<4 | 6, Socket>();

  readonly #enabled: () => boolean;
  readonly #timer: NodeJS.Timeout;
  readonly #off: () => void;

  /**
   * `sb` must replicate Encap (`ip`, `chassis_name`); `self` names this chassis; `enabled` says whether the
   * datapath needs it (the userspace one).
   */
  constructor(o: { sb: SbReplica; self: () => string; enabled: () => boolean; log: Logger }) {
    this.#sb = o.sb;
    this.#self = o.self;
    this.#enabled = o.enabled;
    this.#log = o.log;
    // A chassis appearing (its Encap row) is poked at once; the rest waits for its minute.
    const onBatch = () => this.warm();
    this.#sb.on('batch', onBatch);
    this.#sb.on('sync', onBatch);
    this.#off = () => {
      this.#sb.off('batch', onBatch);
      this.#sb.off('sync', onBatch);
    };
    this.#timer = setInterval(() => this.warm(), WARM_EVERY_MS);
    this.#timer.unref();
  }

  /** Pokes every remote chassis' encap IP not poked within WARM_EVERY_MS. Never throws. */
  warm(now = Date.now()): number {
    let sent = 0;
    try {
      if (!this.#sb.isReady || !this.#enabled()) return 0;
      const self = this.#self();
      for (const e of this.#sb.table('Encap').values()) {
        const family = isIP(e.ip);
        // Read back from the SB: only a plain address of another chassis is a destination.
        if (e.chassis_name === self || (family !== 4 && family !== 6)) continue;
        if (now - (this.#sentAt.get(e.ip) ?? Number.NEGATIVE_INFINITY) < WARM_EVERY_MS) continue;
        this.#sentAt.set(e.ip, now);
        this.#socket(family).send(Buffer.alloc(0), DISCARD_PORT, e.ip, (err) => {
          if (err) this.#log.debug({ ip: e.ip, err: err.message }, 'tunnel neighbour poke failed');
        });
        sent++;
      }
    } catch (err) {
      this.#log.debug({ err: (err as Error).message }, 'tunnel neighbours not warmed');
    }
    return sent;
  }

  #socket(family: 4 | 6): Socket {
    let s = this.#sockets.get(family);
    if (!s) {
      s = createSocket(family === 4 ? 'udp4' : 'udp6');
      s.on('error', (err) => this.#log.debug({ err: err.message }, 'tunnel neighbour socket error'));
      s.unref();
      this.#sockets.set(family, s);
    }
    return s;
  }

  close(): void {
    clearInterval(this.#timer);
    this.#off();
    for (const s of this.#sockets.values()) s.close();
    this.#sockets.clear();
  }
}
