// A Raft-clustered OVSDB on loopback for tests: `ovsdb-tool create-cluster` for the first member,
// `join-cluster` for the others, one ovsdb-server per member (its own directory, unix socket and control
// socket). Members can be killed and restarted on the same database file; the leader is found through
// `ovs-appctl -t <ctl> cluster/status <db>` ("Role: leader"). A one-member cluster is the cheapest
// database that has transaction ids (monitor_cond_since can resume on it; a standalone one cannot).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { run, waitFor } from './exec.js';
import { freePort, type OvsdbServer, startOvsdbServer } from './ovs.js';

export interface ClusterMember {
  readonly index: number;
  /** The member's current server (replaced by `restart`). */
  server: OvsdbServer;
  readonly dbFile: string;
  /** `tcp:127.0.0.1:PORT` of the Raft link (not for clients). */
  readonly raftAddress: string;
  readonly unixEndpoint: string;
  readonly alive: boolean;
}

export interface Cluster {
  readonly dir: string;
  /** The database name (from the schema). */
  readonly database: string;
  readonly members: readonly ClusterMember[];
  /** The client endpoints of every member. */
  readonly endpoints: readonly string[];
  /** Index of the member whose cluster/status says "Role: leader" (waits until one does). */
  leader(timeoutMs?: number): Promise<number>;
  /** `cluster/status` text of a member. */
  status(i: number): Promise<string>;
  /** SIGKILLs a member. */
  kill(i: number): Promise<void>;
  /** Starts a killed member again on its database file and socket. */
  restart(i: number): Promise<void>;
  /** Kills every member and removes the directory. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Schema file (required): the database to cluster. */
  schema: string;
  /** Members (default 3). */
  size?: number;
}

const dirs = new Set<string>();
let dirsHooked = false;

/** Starts a cluster and waits until it has a leader and every member has joined. */
export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const size = opts.size ?? 3;
  const dir = mkdtempSync('/run/ocnt-cl-');
  // Its servers are reaped by ovs.ts when the process ends; the database files too.
  dirs.add(dir);
  if (!dirsHooked) {
    dirsHooked = true;
    process.once('exit', () => {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });
  }
  const database = (JSON.parse(readFileSync(opts.schema, 'utf8')) as { name: string }).name;
  const members: ClusterMember[] = [];
  const cleanup = async () => {
    for (const m of members) await m.server.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < size; i++) {
      let p = await freePort();
      while (ports.includes(p)) p = await freePort();
      ports.push(p);
    }
    const raft = ports.map((p) => `tcp:127.0.0.1:${p}`);
    for (let i = 0; i < size; i++) {
      const dbFile = join(dir, `m${i}.db`);
      if (i === 0) await run('ovsdb-tool', ['create-cluster', dbFile, opts.schema, raft[0] as string]);
      else
        await run('ovsdb-tool', ['join-cluster', dbFile, database, raft[i] as string, ...raft.slice(0, i)]);
      const server = await startOvsdbServer({ dbFile });
      const member: ClusterMember = {
        index: i,
        server,
        dbFile,
        raftAddress: raft[i] as string,
        unixEndpoint: server.unixEndpoint,
        get alive() {
          return this.server.process.exitCode === null && this.server.process.signalCode === null;
        },
      };
      members.push(member);
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  const ctl = (i: number) => join((members[i] as ClusterMember).server.dir, 'ctl');
  const cluster: Cluster = {
    dir,
    database,
    members,
    endpoints: members.map((m) => m.unixEndpoint),
    async status(i) {
      const { stdout } = await run('ovs-appctl', ['-t', ctl(i), 'cluster/status', database], {
        timeoutMs: 5000,
      });
      return stdout;
    },
    async leader(timeoutMs = 30_000) {
      return waitFor(
        async () => {
          for (const m of members) {
            if (!m.alive) continue;
            const s = await cluster.status(m.index).catch(() => '');
            if (/^Role: leader$/m.test(s)) return m.index + 1;
          }
          return 0;
        },
        timeoutMs,
        `a leader of ${database}`,
      ).then((n) => n - 1);
    },
    async kill(i) {
      await (members[i] as ClusterMember).server.kill('SIGKILL');
    },
    async restart(i) {
      const m = members[i] as ClusterMember;
      m.server = await m.server.restart();
    },
    stop: cleanup,
  };
  try {
    await cluster.leader();
    // Every member has joined once each reports itself a cluster member.
    await waitFor(
      async () => {
        for (let i = 0; i < size; i++) {
          if (!/^Status: cluster member$/m.test(await cluster.status(i).catch(() => ''))) return false;
        }
        return true;
      },
      30_000,
      'every member to join',
    );
  } catch (err) {
    await cleanup();
    throw err;
  }
  return cluster;
}
