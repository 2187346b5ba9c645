// What the builders cost over a hand-written typed transaction, in the same run on one standalone NB
// ovsdb-server: logical switch ports (name, addresses, port_security) added to one of 10 switches,
//   - raw:      Transaction.insert + mutate Logical_Switch.ports (the switch's uuid from the replica)
//   - builders: nbTransact(replica, nb => nb.ensureSwitchPort(...)) (lookups, guards, one transaction)
// one port per transaction (sequential) and 100 per transaction (batched). Modes alternate in rounds and the
// median round is reported, with this process's CPU time per port (process.cpuUsage: user + system, all
// threads; it includes applying the monitor updates every mode's writes bring to the replica) and
// ovsdb-server's (/proc/PID/stat, 10 ms ticks summed over every round). On a loaded machine the CPU columns
// are the figures to compare. Also: the pure build cost of one ensureSwitchPort and of 100 in one plan (no I/O).
//
//   tsx bench/builders.ts [--ports N] [--rounds R]      (needs ovsdb-server; run as root like the tests)

import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { OvsdbSession, Replica, Transaction } from '@ovs-container-network/ovsdb';
import * as NB from '@ovs-container-network/ovsdb/models/ovn-northbound';
import { startOvsdbServer } from '@ovs-container-network/testkit';
import { NbPlan, type NbRows, nbReplicaTables, nbTransact, replicaView } from '../src/index.js';

const { values } = parseArgs({
  options: { ports: { type: 'string', default: '400' }, rounds: { type: 'string', default: '5' } },
});
const PORTS = Number(values.ports);
const ROUNDS = Number(values.rounds);
const BATCH = 100;

const server = await startOvsdbServer({ schema: '/usr/share/ovn/ovn-nb.ovsschema' });
const serverPid = server.process.pid as number;
/** ovsdb-server's CPU time so far (ms): utime + stime of /proc/PID/stat, in 10 ms clock ticks. */
const serverCpuMs = () => {
  const f = readFileSync(`/proc/${serverPid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(f[11]) + Number(f[12])) * 10;
};
const session = new OvsdbSession({ remotes: server.unixEndpoint, database: 'OVN_Northbound' });
const replica = Replica.start<NbRows>(session, { tables: nbReplicaTables() });
await replica.ready;
await nbTransact(replica, (nb) => {
  for (let s = 0; s < 10; s++) nb.ensureSwitch({ name: `ls${s}` });
});

let seq = 0;
function port(): { name: string; sw: string; mac: string; ip: string } {
  const n = seq++;
  const mac = `0a:00:${[n >> 16, n >> 8, n].map((b) => (b & 255).toString(16).padStart(2, '0')).join(':')}:01`;
  return { name: `p${n}`, sw: `ls${n % 10}`, mac, ip: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` };
}

function rawOps(txn: Transaction): void {
  const p = port();
  const sw = replica.table('Logical_Switch').find('byName', p.sw)!;
  const lsp = txn.insert(NB.Logical_Switch_Port, {
    name: p.name,
    addresses: [`${p.mac} ${p.ip}`],
    port_security: [`${p.mac} ${p.ip}`],
  });
  txn.mutate(NB.Logical_Switch, [['_uuid', '==', sw._uuid]], [['ports', 'insert', [lsp]]]);
}

function builderOps(nb: NbPlan): void {
  const p = port();
  nb.ensureSwitchPort({
    switch: p.sw,
    name: p.name,
    addresses: [`${p.mac} ${p.ip}`],
    portSecurity: [`${p.mac} ${p.ip}`],
  });
}

const modes: Record<string, () => Promise<void>> = {
  'raw, sequential': async () => {
    for (let i = 0; i < PORTS; i++) {
      const txn = new Transaction('OVN_Northbound');
      rawOps(txn);
      await txn.execute(replica);
    }
  },
  'builders, sequential': async () => {
    for (let i = 0; i < PORTS; i++) await nbTransact(replica, builderOps);
  },
  [`raw, ${BATCH} per transaction`]: async () => {
    for (let i = 0; i < PORTS; i += BATCH) {
      const txn = new Transaction('OVN_Northbound');
      for (let j = 0; j < BATCH; j++) rawOps(txn);
      await txn.execute(replica);
    }
  },
  [`builders, ${BATCH} per transaction`]: async () => {
    for (let i = 0; i < PORTS; i += BATCH) {
      await nbTransact(replica, (nb) => {
        for (let j = 0; j < BATCH; j++) builderOps(nb);
      });
    }
  },
};

const rates: Record<string, number[]> = {};
const cpu: Record<string, { client: number; server: number }> = {};
// One unmeasured round of every mode first: with 400 ports per round, the first round of each mode is
// mostly V8 compiling it, which the median of 5 rounds did not always hide (builders/raw sequential read
// 0.72 at 400 ports and 0.91-0.93 at 2,000 in the same session).
for (const m of Object.keys(modes)) await modes[m]!();
const load0 = loadavg()[0] as number;
for (let r = 0; r < ROUNDS; r++) {
  const order = Object.keys(modes);
  if (r % 2) order.reverse();
  for (const m of order) {
    const s0 = serverCpuMs();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await modes[m]!();
    const rate = PORTS / ((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    const acc = cpu[m] ?? { client: 0, server: 0 };
    cpu[m] = acc;
    acc.client += c.user + c.system;
    acc.server += (serverCpuMs() - s0) * 1000;
    rates[m] = [...(rates[m] ?? []), rate];
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

// Pure build cost (no I/O): one ensureSwitchPort into a fresh Transaction, warm.
const view = replicaView(replica);
let built = 0;
const tb = performance.now();
while (performance.now() - tb < 500) {
  const txn = new Transaction('OVN_Northbound');
  builderOps(new NbPlan(txn, view));
  txn.toWire();
  built++;
}
const buildUs = ((performance.now() - tb) * 1000) / built;
let builtB = 0;
const tb2 = performance.now();
while (performance.now() - tb2 < 500) {
  const txn = new Transaction('OVN_Northbound');
  const nb = new NbPlan(txn, view);
  for (let j = 0; j < BATCH; j++) builderOps(nb);
  txn.toWire();
  builtB++;
}
const buildBatchUs = ((performance.now() - tb2) * 1000) / (builtB * BATCH);

console.log(
  `standalone NB, ${PORTS} ports per mode and round, ${ROUNDS} rounds (median round); load ${load0.toFixed(1)} → ${(loadavg()[0] as number).toFixed(1)}:`,
);
const perPort = (m: string, k: 'client' | 'server') => (cpu[m]![k] / (PORTS * ROUNDS)).toFixed(0);
for (const m of Object.keys(modes))
  console.log(
    `  ${m.padEnd(30)} ${median(rates[m]!).toFixed(0).padStart(7)} ports/s   CPU per port: this process ${perPort(m, 'client').padStart(4)} µs, ovsdb-server ${perPort(m, 'server').padStart(4)} µs`,
  );
const cpuRatio = (a: string, b: string) => (cpu[b]!.client / cpu[a]!.client).toFixed(2);
const ratio = (a: string, b: string) => (median(rates[a]!) / median(rates[b]!)).toFixed(2);
console.log(`  builders/raw sequential: ${ratio('builders, sequential', 'raw, sequential')}`);
console.log(
  `  builders/raw batched:    ${ratio(`builders, ${BATCH} per transaction`, `raw, ${BATCH} per transaction`)}`,
);
console.log(
  `  client CPU raw/builders (1 = builders cost no more): sequential ${cpuRatio('builders, sequential', 'raw, sequential')}, batched ${cpuRatio(`builders, ${BATCH} per transaction`, `raw, ${BATCH} per transaction`)}`,
);
console.log(`  build cost of one ensureSwitchPort (no I/O): ${buildUs.toFixed(1)} µs`);
console.log(
  `  build cost per port, ${BATCH} ensureSwitchPort in one plan (no I/O): ${buildBatchUs.toFixed(1)} µs`,
);

await replica.close();
await session.close();
await server.stop();
