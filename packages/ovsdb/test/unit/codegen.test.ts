import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VSWITCH_SCHEMA } from '@ovs-container-network/testkit';
import t from 'tap';
import { generateModule } from '../../src/codegen/generate.js';
import { parseSchema } from '../../src/schema.js';
import * as Typed from '../fixtures/typed-model.js';

const schemaFile = fileURLToPath(new URL('../fixtures/schemas/typed.ovsschema', import.meta.url));
const fixtureModel = fileURLToPath(new URL('../fixtures/typed-model.ts', import.meta.url));
const cli = fileURLToPath(new URL('../../src/bin/ovsdb-codegen.ts', import.meta.url));

t.test('the committed test model is what the generator makes (no drift)', async (t) => {
  const code = generateModule(parseSchema(readFileSync(schemaFile, 'utf8')), {
    importFrom: '../../src/index.js',
    source: 'typed.ovsschema',
  });
  t.equal(code, readFileSync(fixtureModel, 'utf8'));
});

t.test('generated code: types, enums, references, metadata', async (t) => {
  const code = generateModule(parseSchema(readFileSync(VSWITCH_SCHEMA, 'utf8')));
  t.match(code, /from "@ovs-container-network\/ovsdb";/, 'imports the package by default');
  t.match(
    code,
    /export type PortVlanMode = "access" \| "dot1q-tunnel" \| "native-tagged" \| "native-untagged" \| "trunk";/,
    'enums as unions, sorted (canonical form)',
  );
  t.match(
    code,
    /readonly interfaces: \$SetOf<\$RefTo<"Interface">> & \$NoDefault;/,
    'a set with min 1 is required at insert',
  );
  t.match(code, /readonly name: \$Scalar<string, false>;/, 'immutable columns are marked');
  t.match(code, /readonly tag: \$Optional<number>;/);
  t.match(code, /readonly external_ids: \$MapOf<string, string>;/);
  t.match(code, /\/\*\* integer in \[0, 4095\] or null \*\//, 'bounds in the doc comment');
  t.match(code, /export type Port = \$Row<PortColumns, "Port">;/);
  t.match(code, /export type PortUuid = \$Uuid<"Port">;/);
  t.match(
    code,
    /export const Port = \$defineTable<"Port", PortColumns, "Open_vSwitch">\(schema, "Port"\);/,
    'tables carry their database name',
  );
  t.match(code, /export const model = \$defineDatabase\("Open_vSwitch", schema, \{/);
  t.notMatch(code, /\d{4}-\d\d-\d\dT/, 'no timestamps');
  t.equal(code, generateModule(parseSchema(readFileSync(VSWITCH_SCHEMA, 'utf8'))), 'deterministic');
});

t.test('names that would collide or are reserved get a suffix', async (t) => {
  const code = generateModule(
    parseSchema({
      name: 'N',
      version: '1.0.0',
      tables: {
        model: { columns: {} },
        default: { columns: {} },
        A: { columns: { b: { type: { key: { type: 'string', enum: ['set', ['x']] } } } } },
        AB: { columns: {} },
      },
    }),
  );
  t.match(code, /export const model_ = \$defineTable<"model"/);
  t.match(code, /export const default_ = \$defineTable<"default"/);
  t.match(code, /export type AB_ = "x";/, 'the enum A.b does not take the table name AB');
  t.match(code, /export const AB = \$defineTable<"AB"/);
  t.match(code, / {2}model: model_,/);
});

t.test('the generated test model works at run time', async (t) => {
  t.equal(Typed.DATABASE_NAME, 'Typed');
  t.equal(Typed.model.tables.Atoms, Typed.Atoms);
  t.equal(Typed.Atoms.schema.columns.get('i_bounded')?.type.key.maxInteger, 4094);
  t.equal(Typed.Child.schema.isRoot, false);
});

t.test('the CLI writes a module from a schema file and explains bad usage', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ocnt-codegen-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'm.ts');
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8' });
  const ok = run('--import-from', '../../src/index.js', '-o', out, schemaFile);
  t.equal(ok.status, 0, ok.stderr);
  t.equal(readFileSync(out, 'utf8'), readFileSync(fixtureModel, 'utf8'));
  const help = run('--help');
  t.equal(help.status, 0);
  t.match(help.stdout, /usage: ovsdb-codegen/);
  const none = run();
  t.equal(none.status, 2);
  t.match(none.stderr, /give exactly one schema file/);
  const server = run('--server', 'unix:/nonexistent');
  t.equal(server.status, 2);
  t.match(server.stderr, /--server needs --db/);
  const bad = run(join(dir, 'missing.ovsschema'));
  t.equal(bad.status, 1);
  t.match(bad.stderr, /ENOENT/);
  const badSchema = run(cli);
  t.equal(badSchema.status, 1);
  t.match(badSchema.stderr, /schema is not valid JSON/);
});
