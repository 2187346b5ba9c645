// Regression: ovsdb-codegen made models that did not compile for valid schemas. A table named `Scalar`
// was exported while `type Scalar` was imported from the library (TS2440/TS2395 under --strict); any table
// named like a library type (Optional, SetOf, Row, …), a reserved word or a strict-mode binding
// (`arguments`, `eval`) broke the same way. The generated module of a schema full of such names
// (fixtures/schemas/hostile-names.ovsschema, accepted by ovsdb-tool) must type-check under the repo's
// strict settings, together with a program that uses it, and must work at run time.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t from 'tap';
import { generateModule } from '../../src/codegen/generate.js';
import { parseSchema } from '../../src/schema.js';

const schemaFile = fileURLToPath(new URL('../fixtures/schemas/hostile-names.ovsschema', import.meta.url));
const testDir = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

// A program as a user would write it against the generated module.
const program = `
import { database, Transaction, type RowOf } from '../../src/index.js';
import * as H from './hostile.js';

const t = new Transaction(H.DATABASE_NAME);
const row = t.insert(H.Row, { name: 'r' });
const obj = t.insert(H.Object, { name: 'o', kind: 'x' });
t.insert(H.Scalar, {
  name: 's',
  constructor: 1,
  toString: null,
  hasOwnProperty: [row],
  class: 'a',
  default: { k: obj },
  of: 4,
});
// @ts-expect-error — "of" is an integer in [1, 4]: 0 is not its default, so it is required
t.insert(H.Scalar, { name: 's', class: 'b' });
t.insert(H.class_, { name: 'c' });
t.insert(H.eval_, { name: 'e' });
t.insert(H.arguments_, { name: 'a' });
t.insert(H.Port, { name: 'p', kind: 'q' });
const k: H.PortKind_ | undefined = 'p';
void k;
type S = RowOf<typeof H.Scalar>;
const check = (r: S): number => Number(r.constructor) + r.of; // an unbounded integer reads as number | bigint
void check;
void database;
export {};
`;

t.test('generated models compile for every valid schema (hostile table and column names)', async (t) => {
  const code = generateModule(parseSchema(readFileSync(schemaFile, 'utf8')), {
    importFrom: '../../src/index.js',
  });
  t.match(code, /type Scalar as \$Scalar/, 'library names are imported under "$" aliases');
  t.match(code, /export const Scalar = \$defineTable<"Scalar"/);
  t.match(code, /export const eval_ = /, 'strict-mode binding names get a suffix');
  const dir = mkdtempSync(join(testDir, '.codegen-hostile-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  if (process.env.KEEP) console.error(dir);
  writeFileSync(join(dir, 'hostile.ts'), code);
  writeFileSync(join(dir, 'use.ts'), program);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ extends: '../../../../tsconfig.tests.json', include: ['*.ts'] }),
  );
  const r = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json'), '--noEmit'], {
    encoding: 'utf8',
  });
  t.equal(r.status, 0, `tsc:\n${r.stdout}${r.stderr}`);

  const H = await import(pathToFileURL(join(dir, 'hostile.ts')).href);
  t.equal(H.DATABASE_NAME, 'Hostile');
  t.equal(H.model.tables.Scalar, H.Scalar);
  t.equal(H.model.tables.constructor, H.constructor, 'a table named constructor');
  t.equal(H.model.tables.eval, H.eval_);
  t.equal(Object.keys(H.model.tables).length, parseSchema(readFileSync(schemaFile, 'utf8')).tables.size);
});
