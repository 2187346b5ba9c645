// Profiling aid for the add-port gap (issue 13 item 8): the typed, wire and simplest raw clients against a
// private ovsdb-server, sequential, either interleaved op by op (BENCH_MODE=mix, the default) or one
// client alone (BENCH_ONLY=typed|wire|raw), reporting client CPU per op. Run under `--cpu-prof` or
// callgrind to see where one client's time goes in the real loop (add-port.ts is the benchmark of record).
// Env: BENCH_N ops per client per round (default 2000), BENCH_ROUNDS (3).

import { execFile } from 'node:child_process';
import { startOvsdbServer } from '@ovs-container-network/testkit';
import { OvsdbClient } from '../src/client.js';
import { database } from '../src/database.js';
import * as OVS from '../src/models/generated/open-vswitch.js';
import type { Uuid } from '../src/uuid.js';
import { addPortOps } from './add-port-ops.js';
import { SimplestRawClient } from './simplest-raw-client.js';

const N = Number(process.env.BENCH_N ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ONLY = process.env.BENCH_ONLY;
const DB = 'Open_vSwitch';
/** Running under `valgrind --tool=callgrind --collect-systime=no`: see callgrind(). */
const CG = process.env.BENCH_CG === '1';
const callgrind = (cmd: string) =>
  new Promise<void>((resolve, reject) =>
    execFile('callgrind_control', [cmd, String(process.pid)], (err) => (err ? reject(err) : resolve())),
  );

const server = await startOvsdbServer({});
try {
  const client = await OvsdbClient.connect(server.unixEndpoint);
  const raw = await SimplestRawClient.open(server.unixEndpoint.slice('unix:'.length), DB);
  const res = await client.transact(DB, [
    { op: 'insert', table: 'Bridge', row: { name: 'ocntbench' }, 'uuid-name': 'br' },
    { op: 'insert', table: 'Open_vSwitch', row: { bridges: ['named-uuid', 'br'] } },
  ]);
  const bridge = (res[0] as { uuid: [string, Uuid<'Bridge'>] }).uuid[1];
  const db = database(client, OVS.model);
  const clients: Record<string, (name: string) => Promise<unknown>> = {
    typed: (name) =>
      db.transact((t) => {
        const iface = t.insert(OVS.Interface, { name });
        const port = t.insert(OVS.Port, { name, interfaces: [iface] });
        t.mutate(OVS.Bridge, [['_uuid', '==', bridge]], [['ports', 'insert', [port]]]);
      }),
    wire: (name) => client.transact(DB, addPortOps(bridge, name)),
    raw: (name) => raw.transact(addPortOps(bridge, name)),
  };
  if (ONLY !== undefined) for (const k of Object.keys(clients)) if (k !== ONLY) delete clients[k];
  const labels = Object.keys(clients);
  const clear = () =>
    client.transact(DB, [
      {
        op: 'update',
        table: 'Bridge',
        where: [['_uuid', '==', ['uuid', bridge]]],
        row: { ports: ['set', []] },
      },
    ]);
  const cpu: Record<string, number[]> = {};
  const wall: Record<string, number[]> = {};
  for (let round = 0; round <= ROUNDS; round++) {
    const c: Record<string, number> = {};
    const w: Record<string, number[]> = {};
    for (const l of labels) {
      c[l] = 0;
      w[l] = [];
    }
    if (process.env.BENCH_MARK === '1') console.log(`--- round ${round}`);
    for (let i = 0; i < N; i++) {
      if (process.env.BENCH_MARK === '1' && i % 500 === 0) console.log(`--- op ${i}`);
      for (const l of labels) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await clients[l]!(`ocnt${l[0]}${round}x${i}`);
        w[l]!.push(performance.now() - t0);
        const d = process.cpuUsage(c0);
        c[l]! += d.user + d.system;
      }
      if (i % 500 === 499) await clear();
    }
    await clear();
    // Under callgrind (BENCH_CG=1), count only the measured rounds: zero the counters after the warm-up.
    if (round === 0 && CG) await callgrind('-z');
    if (round === 0) continue;
    for (const l of labels) {
      const s = w[l]!.sort((a, b) => a - b);
      cpu[l] = [...(cpu[l] ?? []), c[l]! / N];
      wall[l] = [...(wall[l] ?? []), s[s.length >> 1]! * 1000];
    }
  }
  if (CG) await callgrind('-d');
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const [l1, l5] = (await import('node:os')).loadavg();
  console.log(`N=${N} x ${ROUNDS} rounds, load ${l1?.toFixed(2)} ${l5?.toFixed(2)}`);
  for (const l of labels) {
    console.log(
      `${l.padEnd(6)} CPU ${med(cpu[l]!).toFixed(1).padStart(6)} µs/op  wall median ${med(wall[l]!).toFixed(1).padStart(6)} µs  (CPU rounds ${cpu[l]!.map((x) => x.toFixed(1)).join(' ')})`,
    );
  }
  await client.close();
  raw.close();
} finally {
  await server.stop();
}
