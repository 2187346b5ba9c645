import { NetlinkError, toNetlinkError } from './errors.js';
import { native } from './native.js';
import { closeNetnsFd, type NetnsRef, socketInNetns } from './netns.js';
import { validateIfname } from './validate.js';

/** The longest wait {@link PacketSocket.recv} spends in one native call, so close() never waits long. */
const RECV_SLICE_MS = 200;

/**
 * An AF_PACKET raw socket on one interface of one namespace (packet(7)), for protocols spoken on behalf of a
 * MAC that is not the interface's (a DHCP client acting for an endpoint). It receives only incoming ARP and
 * IPv4 UDP-to-port-68 frames (a BPF filter in the addon); the caller builds and parses every header.
 */
export class PacketSocket {
  readonly ifname: string;
  readonly netns: string;
  #fd: number | undefined;
  #pending: Promise<unknown> = Promise.resolve();

  private constructor(fd: number, ifname: string, netns: string) {
    this.#fd = fd;
    this.ifname = ifname;
    this.netns = netns;
  }

  /** Opens the socket inside `netns`, bound to `ifname` there. Needs CAP_NET_RAW. */
  static open(netns: NetnsRef, ifname: string): PacketSocket {
    validateIfname(ifname, 'ifname');
    let fd = -1;
    const { nsFd } = socketInNetns(netns, 'openPacketSocket', () => {
      fd = native().packetSocket(ifname);
      return { close: () => native().closeFd(fd) };
    });
    const description = nsFd.description;
    closeNetnsFd(nsFd);
    return new PacketSocket(fd, ifname, description);
  }

  get closed(): boolean {
    return this.#fd === undefined;
  }

  /** Sends one whole Ethernet frame. */
  send(frame: Buffer): void {
    const fd = this.#open('packetSend');
    try {
      native().packetSend(fd, frame);
    } catch (err) {
      throw toNetlinkError(err, { operation: 'packetSend', ifname: this.ifname, netns: this.netns });
    }
  }

  /** The next incoming frame, or null when none came within `timeoutMs` (or the socket was closed). */
  async recv(timeoutMs: number): Promise<Buffer | null> {
    const deadline = Date.now() + Math.max(0, timeoutMs);
    for (;;) {
      if (this.#fd === undefined) return null;
      const slice = Math.min(RECV_SLICE_MS, Math.max(0, deadline - Date.now()));
      const p = native().packetRecv(this.#fd, slice);
      this.#pending = p.catch(() => undefined);
      let frame: Buffer | null;
      try {
        frame = await p;
      } catch (err) {
        throw toNetlinkError(err, { operation: 'packetRecv', ifname: this.ifname, netns: this.netns });
      }
      if (frame !== null) return frame;
      if (Date.now() >= deadline) return null;
    }
  }

  /** Closes the fd once no native recv is using it (at most one slice later). Idempotent. */
  async close(): Promise<void> {
    const fd = this.#fd;
    if (fd === undefined) return;
    this.#fd = undefined;
    await this.#pending;
    native().closeFd(fd);
  }

  #open(operation: string): number {
    if (this.#fd === undefined) {
      throw new NetlinkError(
        'NETLINK_ERR_CLOSED',
        `${operation} on '${this.ifname}' (netns ${this.netns}): socket closed`,
      );
    }
    return this.#fd;
  }
}
