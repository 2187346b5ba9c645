// Example 1 — OVSDB basics with the typed client: connect, list the bridges, create a bridge with a
// VLAN-tagged port in ONE typed transaction (generated Open_vSwitch models: a wrong column or value type is
// a compile error), and watch the change arrive through the live replica. Then remove the bridge.
//
//   tsx examples/ovsdb-basics.ts [--ovsdb unix:/run/openvswitch/db.sock] [--bridge br-demo] [--port demo-p1]
//                                [--vlan 100] [--datapath-type netdev] [--keep]
import {
  type ModelRows,
  OvsdbClient,
  OvsdbSession,
  Replica,
  Transaction,
} from '@ovs-container-network/ovsdb';
import * as OVS from '@ovs-container-network/ovsdb/models/open-vswitch';
import { flags, main } from './lib/cli.js';

const opts = flags(
  'usage: tsx examples/ovsdb-basics.ts [--ovsdb EP] [--bridge NAME] [--port NAME] [--vlan N] [--keep]',
  {
    bridge: { type: 'string', default: 'br-demo' },
    port: { type: 'string', default: 'demo-p1' },
    vlan: { type: 'string', default: '100' },
    'datapath-type': { type: 'string', default: 'netdev' },
    keep: { type: 'boolean', default: false },
  },
);

main(async () => {
  // 1. Connect and look around: one request, typed result.
  const client = await OvsdbClient.connect(opts.ovsdb);
  console.log(`connected to ${opts.ovsdb}; databases: ${(await client.listDbs()).join(', ')}`);

  const list = new Transaction('Open_vSwitch');
  const bridges = list.select(OVS.Bridge, [], ['name', 'datapath_type', 'ports']);
  const listed = await list.execute(client);
  console.log(`bridges before: ${listed.get(bridges).length}`);
  for (const b of listed.get(bridges))
    console.log(`  ${b.name} (${b.datapath_type || 'system'}, ${b.ports.length} ports)`);

  // 2. A live replica of Bridge and Port, with a lookup by name. It resyncs on its own after reconnects.
  const session = new OvsdbSession({ remotes: opts.ovsdb, database: 'Open_vSwitch' });
  const replica = Replica.start<ModelRows<typeof OVS.model>>(session, {
    tables: {
      Bridge: { columns: ['name', 'ports'], indexes: { byName: (b) => b.name } },
      Port: { columns: ['name', 'tag'], indexes: { byName: (p) => p.name } },
    },
  });
  await replica.ready;
  const changes = replica.changes({ tables: ['Bridge', 'Port'] });

  // 3. One typed transaction: the bridge, its own internal port, a port tagged with a VLAN, and the link
  //    from the root row. Inserted rows are referenced by handle before they exist.
  const txn = new Transaction('Open_vSwitch');
  const brIface = txn.insert(OVS.Interface, { name: opts.bridge, type: 'internal' });
  const brPort = txn.insert(OVS.Port, { name: opts.bridge, interfaces: [brIface] });
  const pIface = txn.insert(OVS.Interface, { name: opts.port, type: 'internal' });
  const tagged = txn.insert(OVS.Port, { name: opts.port, interfaces: [pIface], tag: Number(opts.vlan) });
  const bridge = txn.insert(OVS.Bridge, {
    name: opts.bridge,
    ports: [brPort, tagged],
    datapath_type: opts['datapath-type'],
  });
  txn.mutate(OVS.Open_vSwitch, [], [['bridges', 'insert', [bridge]]]);
  const t0 = performance.now();
  const done = await txn.execute(client);
  console.log(
    `created bridge ${opts.bridge} (${done.get(bridge)}) with port ${opts.port} tag ${opts.vlan} ` +
      `in one transaction of ${txn.operations.length} operations, ${(performance.now() - t0).toFixed(1)} ms`,
  );

  // 4. The replica saw it: changes arrive as an AsyncIterable of {table, type, old, new}.
  const seen = new Set<string>();
  for await (const c of changes) {
    const name = String((c.new ?? c.old)?.name);
    console.log(`replica: ${c.type} ${c.table} ${name}`);
    if (c.type === 'insert') seen.add(`${c.table}:${name}`);
    if (seen.has(`Bridge:${opts.bridge}`) && seen.has(`Port:${opts.port}`)) break;
  }
  const port = replica.table('Port').find('byName', opts.port);
  console.log(`replica lookup: Port ${opts.port} has tag ${port?.tag}`);

  if (!opts.keep) {
    const del = new Transaction('Open_vSwitch');
    del.mutate(OVS.Open_vSwitch, [], [['bridges', 'delete', [done.get(bridge)]]]);
    await del.execute(client);
    console.log(`removed bridge ${opts.bridge} (its ports and interfaces are garbage-collected)`);
  }
  await replica.close();
  await session.close();
  await client.close();
});
