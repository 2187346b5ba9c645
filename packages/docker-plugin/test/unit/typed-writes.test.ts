// Type test: the plugin writes OVSDB only through the ovsdb package's typed Transaction and the generated
// Open_vSwitch models, so a wrong column, a wrong value type or a uuid of the wrong table in a plugin write is
// a compile error. The `@ts-expect-error` lines are checked by `pnpm typecheck` (an unused one is itself an
// error); the runtime assertions show that the same mistakes, forced past the compiler, never reach the
// server (ValidationError before sending) and what the builders put on the wire.
import { Transaction, uuid, ValidationError } from '@ovs-container-network/ovsdb';
import t from 'tap';
import { type BridgeRow, OVS, type OvsTransaction } from '../../src/core/ovs/model.js';
import { putNetworkRecord } from '../../src/core/ovs/networks.js';
import { addPort, insertPort, putPorts, removePorts, setPortVlan } from '../../src/core/ovs/ports.js';
import type { NetworkRecord } from '../../src/core/records.js';

const BR = uuid<'Bridge'>('11111111-2222-3333-4444-555555555555');
const PORT = uuid<'Port'>('66666666-7777-8888-9999-000000000000');
const tx = (): OvsTransaction => new Transaction('Open_vSwitch');

t.test('plugin writes: a wrong column or value does not compile', async (t) => {
  const ok = tx();
  const port = addPort(ok, BR, { name: 'vethh1', tag: 100, externalIds: { 'ocn-owner': 'x' } });
  t.ok(port, 'a correct write compiles');
  t.same(
    ok.toWire().map((o) => `${(o as { op: string }).op} ${(o as { table?: string }).table}`),
    ['insert Interface', 'insert Port', 'wait Bridge', 'mutate Bridge'],
    'addPort: Interface, Port, and Bridge.ports guarded to exactly one bridge',
  );

  // @ts-expect-error — NewPort has no field "vlan" (it is `tag`); the builder forwards only known fields
  insertPort(tx(), { name: 'p', vlan: 100 });
  const w = tx();
  // @ts-expect-error — Port has no column "vlan"
  t.throws(() => w.insert(OVS.Port, { name: 'p', interfaces: [], vlan: 100 }), ValidationError);
  // @ts-expect-error — Port.tag is an integer, not a string
  t.throws(() => w.update(OVS.Port, [['_uuid', '==', PORT]], { tag: '100' }), ValidationError);
  t.throws(
    // @ts-expect-error — Bridge has no column "external_id"
    () => w.mutate(OVS.Bridge, [['_uuid', '==', BR]], [['external_id', 'insert', { k: 'v' }]]),
    ValidationError,
  );
  // @ts-expect-error — external_ids values are strings
  t.throws(() => w.mutate(OVS.Bridge, [], [['external_ids', 'insert', { k: 1 }]]), ValidationError);
  // Uuid brands exist only for the compiler: these would reach the server, so the compiler must stop them.
  // @ts-expect-error — a Port uuid where a Bridge uuid goes
  putPorts(w, PORT, [insertPort(w, { name: 'p2' })]);
  // @ts-expect-error — a Bridge uuid where Port uuids go
  removePorts(w, [BR]);
  // @ts-expect-error — a VLAN tag is a number
  t.throws(() => setPortVlan(w, PORT, '7', []), ValidationError);
});

t.test('plugin reads: only monitored columns of typed rows', async (t) => {
  const row = { _uuid: BR, name: 'br0', datapath_type: '', external_ids: {}, ports: [] } as BridgeRow;
  t.equal(row.name, 'br0');
  // @ts-expect-error — Bridge.fail_mode is not monitored by the core's replica (model.ts MONITORED)
  t.equal(row.fail_mode, undefined);
  const rec: NetworkRecord = {
    v: 1,
    id: 'n1',
    owner: 'o',
    bridge: 'br0',
    vlan: 2,
    mtu: 1500,
    datapathType: 'system',
    gatewayMode: 'none',
    isolate: true,
  };
  const w = tx();
  putNetworkRecord(w, BR, rec);
  t.match(w.toWire()[1], {
    op: 'mutate',
    table: 'Bridge',
    mutations: [['external_ids', 'insert', ['map', [['ocn-net-n1', JSON.stringify(rec)]]]]],
  });
});
