// Micro-benchmark of the client CPU the typed layer adds on the add-port transaction, with no server:
// a fake transactor serialises the params as the connection does (JSON.stringify) and answers with a
// canned, freshly parsed result (as the framer would hand it over). Compares the typed path
// (Database.transact with generated models) with the wire path (raw ops + a results check), interleaved,
// counting CPU time (process.cpuUsage), so it is meaningful on a busy machine.
// Run: `pnpm exec tsx bench/typed-cpu.ts` (env: BENCH_N ops per round, default 20000; BENCH_ROUNDS, 7).

import { decodesReplies, type RequestOptions } from '../src/connection.js';
import { database } from '../src/database.js';
import * as OVS from '../src/models/generated/open-vswitch.js';
import type { Transactor } from '../src/transaction.js';
import type { Uuid } from '../src/uuid.js';
import { addPortOps } from './add-port-ops.js';

const N = Number(process.env.BENCH_N ?? 20000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const BRIDGE = '2c1d2f64-5d4c-4e1a-9f0b-3b8f0c6a7d11' as Uuid<'Bridge'>;
const INSERTED =
  '{"uuid":["uuid","0b7e0c4e-7a39-4bb0-8a2c-0d7c1c6b2f10"]},{"uuid":["uuid","6f1a2b3c-4d5e-4f60-8172-839405a6b7c8"]}';
/** The server's reply by operation count (the `expect` guard adds a wait, whose result is {}). */
const REPLY: Record<number, string> = { 3: `[${INSERTED},{"count":1}]`, 4: `[${INSERTED},{},{"count":1}]` };

let sink = 0;
// Like OvsdbClient, it honours RequestOptions.decoder (the reply is decoded where it settles).
const fake: Transactor & { [decodesReplies]: true } = {
  [decodesReplies]: true,
  transact(db, operations, opts?: RequestOptions) {
    sink += JSON.stringify({ method: 'transact', params: [db, ...operations], id: 1 }).length;
    const raw = JSON.parse(REPLY[operations.length]!) as unknown[];
    const decoder = opts?.decoder;
    return Promise.resolve((decoder === undefined ? raw : decoder.decodeReply(raw)) as unknown[]);
  },
};
const db = database(fake, OVS.model);

const clients: Record<string, (name: string) => Promise<void>> = {
  typed: async (name) => {
    await db.transact((t) => {
      const iface = t.insert(OVS.Interface, { name });
      const port = t.insert(OVS.Port, { name, interfaces: [iface] });
      t.mutate(OVS.Bridge, [['_uuid', '==', BRIDGE]], [['ports', 'insert', [port]]]);
    });
  },
  'typed, expect one': async (name) => {
    await db.transact((t) => {
      const iface = t.insert(OVS.Interface, { name });
      const port = t.insert(OVS.Port, { name, interfaces: [iface] });
      t.mutate(OVS.Bridge, [['_uuid', '==', BRIDGE]], [['ports', 'insert', [port]]], { expect: 'one' });
    });
  },
  wire: async (name) => {
    const res = await fake.transact('Open_vSwitch', addPortOps(BRIDGE, name));
    if (res.length !== 3 || res.some((r) => r === null || (r as { error?: unknown }).error))
      throw new Error('failed');
  },
};

const ONLY = process.env.BENCH_ONLY;
if (ONLY !== undefined) for (const k of Object.keys(clients)) if (k !== ONLY) delete clients[k];
const cpu: Record<string, number[]> = {};
for (let round = 0; round < ROUNDS + 1; round++) {
  for (const label of Object.keys(clients)) {
    const f = clients[label]!;
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) await f(`ocntp${i}`);
    const c = process.cpuUsage(c0);
    if (round === 0) continue; // warm-up
    const xs = cpu[label] ?? [];
    xs.push(((c.user + c.system) / N) * 1000); // ns per op
    cpu[label] = xs;
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const wire = cpu.wire ? med(cpu.wire) : 0;
for (const [label, xs] of Object.entries(cpu)) {
  console.log(
    `${label.padEnd(20)} ${(med(xs) / 1000).toFixed(2).padStart(7)} µs/op CPU  (+${((med(xs) - wire) / 1000).toFixed(2)} µs over wire; rounds ${xs.map((x) => (x / 1000).toFixed(2)).join(' ')})`,
  );
}
if (sink < 0) console.log(sink);
