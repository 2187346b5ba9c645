// Helpers for the north-south e2e tests: an "outside" namespace standing in for the LAN (a veth to the
// host with test addresses), a static UDP echo server for containers (busybox has no UDP server,
// PROTOCOLS.md §1: built with gcc -static, bind-mounted in), and small clients.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, sleep, uniqueName } from '@ovs-container-network/testkit';

/** Where "host" commands run: the real host, or a namespace acting as one (a dockerd in a netns). */
export interface HostSide {
  /** Named netns of the host side, or undefined for the machine's own. */
  netns: string | undefined;
}

export function hostCmd(h: HostSide, cmd: string, args: readonly string[]): [string, string[]] {
  return h.netns === undefined ? [cmd, [...args]] : ['ip', ['netns', 'exec', h.netns, cmd, ...args]];
}

export function hostRun(h: HostSide, cmd: string, args: readonly string[], allowFail = true) {
  const [c, a] = hostCmd(h, cmd, args);
  return run(c, a, { allowFail, timeoutMs: 30_000 });
}

export interface Outside {
  ns: string;
  hostIf: string;
  /** The host's addresses on the link (what the LAN connects to). */
  hostV4: string;
  hostV6: string;
  /** The outside namespace's own addresses. */
  v4: string;
  v6: string;
  remove(): Promise<void>;
}

/** A namespace linked to the host side by a veth: 198.18.N.0/24 and fd00:198:18:N::/64 (test ranges). */
export async function createOutside(h: HostSide): Promise<Outside> {
  const ns = uniqueName('out');
  const n = 1 + Math.floor(Math.random() * 250);
  const hostIf = uniqueName('vo');
  const peer = uniqueName('vp');
  await run('ip', ['netns', 'add', ns]);
  await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const remove = async () => {
    await hostRun(h, 'ip', ['link', 'del', hostIf]);
    await run('ip', ['netns', 'del', ns], { allowFail: true });
  };
  try {
    await hostRun(h, 'ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', peer], false);
    await hostRun(h, 'ip', ['link', 'set', peer, 'netns', ns], false);
    const o = {
      ns,
      hostIf,
      hostV4: `198.18.${n}.1`,
      hostV6: `fd00:198:18:${n.toString(16)}::1`,
      v4: `198.18.${n}.2`,
      v6: `fd00:198:18:${n.toString(16)}::2`,
      remove,
    };
    await hostRun(h, 'ip', ['addr', 'add', `${o.hostV4}/24`, 'dev', hostIf], false);
    await hostRun(h, 'ip', ['addr', 'add', `${o.hostV6}/64`, 'dev', hostIf, 'nodad'], false);
    await hostRun(h, 'ip', ['link', 'set', hostIf, 'up'], false);
    await run('ip', ['-n', ns, 'addr', 'add', `${o.v4}/24`, 'dev', peer]);
    await run('ip', ['-n', ns, 'addr', 'add', `${o.v6}/64`, 'dev', peer, 'nodad']);
    await run('ip', ['-n', ns, 'link', 'set', peer, 'up']);
    return o;
  } catch (err) {
    await remove();
    throw err;
  }
}

const UDP_ECHO_C = `
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
  int port = atoi(argv[1]);
  int s = socket(AF_INET6, SOCK_DGRAM, 0);
  struct sockaddr_storage a; memset(&a, 0, sizeof a);
  socklen_t alen;
  if (s >= 0) {
    int off = 0; setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&a;
    a6->sin6_family = AF_INET6; a6->sin6_port = htons(port); alen = sizeof *a6;
  } else {
    s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&a;
    a4->sin_family = AF_INET; a4->sin_port = htons(port); alen = sizeof *a4;
  }
  if (bind(s, (struct sockaddr *)&a, alen) != 0) return 1;
  char buf[2048], out[2100];
  for (;;) {
    struct sockaddr_storage from; socklen_t flen = sizeof from;
    ssize_t n = recvfrom(s, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &flen);
    if (n < 0) continue;
    memcpy(out, "echo:", 5); memcpy(out + 5, buf, n);
    sendto(s, out, n + 5, 0, (struct sockaddr *)&from, flen);
  }
}
`;

/** Builds the static UDP echo server; returns the directory holding `udpecho` (bind-mount it). */
export async function buildUdpEcho(): Promise<{ dir: string; remove(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'ocnt-udpecho-'));
  writeFileSync(join(dir, 'udpecho.c'), UDP_ECHO_C);
  await run('gcc', ['-static', '-O2', '-o', join(dir, 'udpecho'), join(dir, 'udpecho.c')]);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const UDP_CLIENT_PY = `
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(1.0)
for _ in range(4):
    s.sendto(b'ping', (host, port))
    try:
        print(s.recv(100).decode()); sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)
`;

/** Sends a UDP datagram from `ns` (undefined: this machine) and returns the answer, or '' without one. */
export async function udpAsk(ns: string | undefined, host: string, port: number): Promise<string> {
  const args = ['-c', UDP_CLIENT_PY, host, String(port)];
  const r =
    ns === undefined
      ? await run('python3', args, { allowFail: true })
      : await run('ip', ['netns', 'exec', ns, 'python3', ...args], { allowFail: true });
  return r.code === 0 ? r.stdout.trim() : '';
}

/** An HTTP GET with curl from `ns` (undefined: this machine); the body, or '' on failure. */
export async function httpGet(ns: string | undefined, host: string, port: number): Promise<string> {
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  const args = ['-s', '-g', '--max-time', '5', url];
  const r =
    ns === undefined
      ? await run('curl', args, { allowFail: true })
      : await run('ip', ['netns', 'exec', ns, 'curl', ...args], { allowFail: true });
  return r.code === 0 ? r.stdout.trim() : '';
}

const PEER_SERVER_PY = `
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('::', int(sys.argv[1])))
s.listen(8)
print('listening', flush=True)
while True:
    c, a = s.accept()
    print(a[0].replace('::ffff:', ''), flush=True)
    c.sendall(b'hi\\n')
    c.close()
`;

/** A TCP server in `ns` that prints each client's address (what source NAT made of it). */
export async function peerServer(
  ns: string,
  port: number,
): Promise<{ peers: string[]; stop(): void; child: ChildProcess }> {
  const child = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', PEER_SERVER_PY, String(port)], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const peers: string[] = [];
  let ready = false;
  child.stdout?.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) {
      if (line === 'listening') ready = true;
      else if (line) peers.push(line);
    }
  });
  for (let i = 0; i < 50 && !ready; i++) await sleep(100);
  return { peers, child, stop: () => child.kill('SIGKILL') };
}

/** The rules of our table (`inet ocn-<prefix>`) as `nft -j` objects, [] when there is no table. */
export async function ourRules(h: HostSide, prefix: string): Promise<{ comment?: string; chain: string }[]> {
  const r = await hostRun(h, 'nft', ['-j', 'list', 'ruleset']);
  const items = (JSON.parse(r.stdout || '{"nftables":[]}') as { nftables: Record<string, unknown>[] })
    .nftables;
  return items
    .map((i) => i.rule as { table: string; family: string; chain: string; comment?: string } | undefined)
    .filter((x): x is { table: string; family: string; chain: string; comment?: string } => x !== undefined)
    .filter((x) => x.family === 'inet' && x.table === `ocn-${prefix}`);
}

/** Whether `nft list tables` still shows our table. */
export async function hasTable(h: HostSide, prefix: string): Promise<boolean> {
  const r = await hostRun(h, 'nft', ['list', 'tables']);
  return r.stdout.split('\n').some((l) => l.trim() === `table inet ocn-${prefix}`);
}
