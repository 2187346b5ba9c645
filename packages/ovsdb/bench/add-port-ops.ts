// The add-port transaction as raw wire operations, shared by the benchmarks (add-port.ts, typed-cpu.ts).

/** Insert Interface, insert Port with interfaces=[named-uuid], mutate Bridge.ports insert. */
export function addPortOps(bridge: string, name: string): unknown[] {
  return [
    { op: 'insert', table: 'Interface', row: { name }, 'uuid-name': 'iface' },
    { op: 'insert', table: 'Port', row: { name, interfaces: ['named-uuid', 'iface'] }, 'uuid-name': 'port' },
    {
      op: 'mutate',
      table: 'Bridge',
      where: [['_uuid', '==', ['uuid', bridge]]],
      mutations: [['ports', 'insert', ['named-uuid', 'port']]],
    },
  ];
}
