import { readFileSync } from 'node:fs';
import { OVN_NB_SCHEMA, OVN_SB_SCHEMA, VSWITCH_SCHEMA } from '@ovs-container-network/testkit';
import t from 'tap';
import { SchemaError } from '../../src/errors.js';
import { canonicalSchemaJson, describeType, getTable, parseSchema, rootTables } from '../../src/schema.js';

const fixture = new URL('../fixtures/schemas/typed.ovsschema', import.meta.url);

t.test('parses the test schema: kinds, bounds, enums, refs, flags', async (t) => {
  const s = parseSchema(readFileSync(fixture, 'utf8'));
  t.equal(s.name, 'Typed');
  t.equal(s.version, '1.2.3');
  const atoms = getTable(s, 'Atoms');
  const col = (n: string) => atoms.columns.get(n)!;
  t.equal(col('i').kind, 'scalar');
  t.equal(col('oi').kind, 'optional');
  t.equal(col('si').kind, 'set');
  t.equal(col('si').type.max, Number.POSITIVE_INFINITY);
  t.equal(col('sr').type.max, 3);
  t.equal(col('m_ss').kind, 'map');
  t.same(col('s_enum').type.key.enum, ['red', 'green', 'blue']);
  t.same(col('b_true').type.key.enum, [true], 'a bare-atom enum is a one-element set');
  t.equal(col('i_bounded').type.key.minInteger, -5);
  t.equal(col('i_bounded').type.key.maxInteger, 4094);
  t.equal(col('r_bounded').type.key.maxReal, 2.5);
  t.equal(col('s_len').type.key.maxLength, 5);
  t.equal(col('fixed').mutable, false);
  t.equal(col('i').mutable, true);
  t.equal(col('eph').ephemeral, true);
  t.equal(col('_uuid').type.key.type, 'uuid', 'implicit _uuid');
  t.equal(col('_version').mutable, false, 'implicit _version');
  t.equal(atoms.userColumns.length, 32);
  const parent = getTable(s, 'Parent');
  t.equal(parent.columns.get('children')!.type.key.refTable, 'Child');
  t.equal(parent.columns.get('children')!.type.key.refType, 'strong', 'strong is the default refType');
  t.equal(parent.columns.get('weak_targets')!.type.key.refType, 'weak');
  t.same(parent.indexes, [['name']]);
  t.equal(getTable(s, 'Child').isRoot, false);
  t.equal(getTable(s, 'Single').maxRows, 1);
  t.same([...rootTables(s)].sort(), ['Atoms', 'Parent', 'Single', 'Target']);
  t.equal(describeType(col('i_bounded').type), 'integer in [-5, 4094]');
  t.equal(describeType(col('sr').type), 'array of 0..3 distinct real');
  t.throws(() => getTable(s, 'Nope'), SchemaError);
});

t.test('parses the shipped Open vSwitch and OVN schemas', async (t) => {
  for (const [file, name] of [
    [VSWITCH_SCHEMA, 'Open_vSwitch'],
    [OVN_NB_SCHEMA, 'OVN_Northbound'],
    [OVN_SB_SCHEMA, 'OVN_Southbound'],
  ] as const) {
    const s = parseSchema(readFileSync(file, 'utf8'));
    t.equal(s.name, name);
    t.ok(s.tables.size > 10, `${name} has its tables`);
  }
  const ovs = parseSchema(readFileSync(VSWITCH_SCHEMA, 'utf8'));
  const port = getTable(ovs, 'Port');
  t.equal(port.columns.get('tag')!.type.key.maxInteger, 4095);
  t.equal(port.columns.get('name')!.mutable, false);
  t.equal(port.isRoot, false);
  t.same(
    rootTables(parseSchema({ name: 'X', version: '1.0.0', tables: { A: { columns: {} } } })),
    new Set(['A']),
    'no isRoot anywhere: every table is a root (ovsdb.7.rst)',
  );
});

t.test('bad schemas are SchemaErrors that say what is wrong', async (t) => {
  const base = (tables: unknown) => ({ name: 'X', version: '1.0.0', tables });
  const cases: [unknown, RegExp][] = [
    ['{not json', /not valid JSON/],
    [[], /expected a JSON object/],
    [{ name: '1x', tables: {} }, /"name" must be an identifier/],
    [{ name: 'X', version: 'one', tables: {} }, /"version"/],
    [{ name: 'X', version: '1.0.0' }, /"tables" must be an object/],
    [base({ T: { columns: { c: { type: 'int' } } } }), /unknown atomic type "int"/],
    [base({ T: { columns: { c: { type: { key: 'string', min: 2 } } } } }), /"min" must be 0 or 1/],
    [
      base({ T: { columns: { c: { type: { key: 'string', max: 0 } } } } }),
      /"max" must be a positive integer/,
    ],
    [base({ T: { columns: { c: { type: { key: 'string', min: 1, max: 'lots' } } } } }), /"max"/],
    [
      base({ T: { columns: { c: { type: { key: { type: 'uuid', refTable: 'Nope' } } } } } }),
      /refTable "Nope"/,
    ],
    [
      base({ T: { columns: { c: { type: { key: { type: 'integer', minLength: 1 } } } } } }),
      /unknown member "minLength"/,
    ],
    [
      base({ T: { columns: { c: { type: { key: { type: 'integer', minInteger: 5, maxInteger: 1 } } } } } }),
      /exceeds/,
    ],
    [
      base({ T: { columns: { c: { type: { key: { type: 'integer', enum: ['set', ['a']] } } } } } }),
      /not of type integer/,
    ],
    [
      base({ T: { columns: { c: { type: { key: { type: 'string', refType: 'weak' } } } } } }),
      /unknown member "refType"/,
    ],
    [base({ T: { columns: { _c: { type: 'string' } } } }), /column names/],
    [base({ T: { columns: {}, indexes: [['nope']] } }), /unknown column "nope"/],
    [base({ T: { columns: {}, maxRows: 0 } }), /"maxRows"/],
    [base({ T: { columns: {}, extra: 1 } }), /unknown member "extra"/],
  ];
  for (const [input, re] of cases) {
    t.throws(() => parseSchema(input), SchemaError, String(re));
    try {
      parseSchema(input);
    } catch (err) {
      t.match((err as Error).message, re);
    }
  }
});

t.test('canonical JSON: sorted, defaults omitted, same meaning, idempotent', async (t) => {
  for (const file of [VSWITCH_SCHEMA, OVN_NB_SCHEMA, OVN_SB_SCHEMA, fixture]) {
    const s = parseSchema(readFileSync(file, 'utf8'));
    const c = canonicalSchemaJson(s);
    const again = parseSchema(c);
    t.same(canonicalSchemaJson(again), c, `${s.name}: idempotent`);
    t.same([...again.tables.keys()], [...s.tables.keys()].sort(), `${s.name}: tables sorted`);
    for (const table of s.tables.values()) {
      const other = again.tables.get(table.name)!;
      t.equal(other.isRoot, table.isRoot);
      t.equal(other.maxRows, table.maxRows);
      t.same(other.indexes, table.indexes);
      for (const col of table.userColumns) {
        const o = other.columns.get(col.name)!;
        const noEnum = (c: typeof col) => ({
          ...c.type,
          key: { ...c.type.key, enum: undefined },
          value: c.type.value && { ...c.type.value, enum: undefined },
        });
        t.same(noEnum(o), noEnum(col), `${table.name}.${col.name}`);
        t.same({ ...o, type: undefined }, { ...col, type: undefined }, `${table.name}.${col.name} flags`);
        t.same(new Set(o.type.key.enum ?? []), new Set(col.type.key.enum ?? []));
        t.same(new Set(o.type.value?.enum ?? []), new Set(col.type.value?.enum ?? []));
      }
    }
  }
  const short = canonicalSchemaJson(
    parseSchema({
      name: 'X',
      version: '1.0.0',
      tables: { T: { columns: { a: { type: { key: 'string', min: 1, max: 1 } } } } },
    }),
  );
  t.same(short, { name: 'X', version: '1.0.0', tables: { T: { columns: { a: { type: 'string' } } } } });
});
