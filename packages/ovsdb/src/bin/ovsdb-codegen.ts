#!/usr/bin/env node
// ovsdb-codegen: TypeScript models from an OVSDB schema file or a live server's get_schema.

import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { generateModule } from '../codegen/generate.js';
import { parseSchema } from '../schema.js';

const USAGE = `usage: ovsdb-codegen [options] SCHEMA.ovsschema
       ovsdb-codegen [options] --server ENDPOINT --db DATABASE

Generates a TypeScript module with typed models (row type per table, enum unions, reference types,
column metadata and the embedded schema) for @ovs-container-network/ovsdb.

options:
  -o, --out FILE        write to FILE instead of standard output
      --server ENDPOINT read the schema from a running server (unix:PATH, tcp:HOST:PORT, ssl:HOST:PORT)
      --db NAME         the database to read from the server (required with --server)
      --import-from M   module to import the library from (default @ovs-container-network/ovsdb)
  -p, --private-key FILE, -c, --certificate FILE, -C, --ca-cert FILE
                        TLS key, certificate and CA for ssl: endpoints (as ovsdb-client takes them)
  -h, --help            show this help
`;

async function main(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (err) {
    process.stderr.write(`ovsdb-codegen: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = args;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let json: unknown;
  let source: string;
  if (values.server !== undefined) {
    if (positionals.length || !values.db) {
      process.stderr.write(`ovsdb-codegen: --server needs --db and no schema file\n\n${USAGE}`);
      return 2;
    }
    const tls = {
      ...(values['private-key'] !== undefined ? { keyFile: values['private-key'] } : {}),
      ...(values.certificate !== undefined ? { certFile: values.certificate } : {}),
      ...(values['ca-cert'] !== undefined ? { caFile: values['ca-cert'] } : {}),
    };
    json = await fetchSchema(values.server, values.db, tls);
    source = `${values.db} on a live server`;
  } else {
    if (positionals.length !== 1 || values.db !== undefined) {
      process.stderr.write(`ovsdb-codegen: give exactly one schema file (or --server and --db)\n\n${USAGE}`);
      return 2;
    }
    const file = positionals[0] as string;
    json = await readFile(file, 'utf8');
    source = basename(file);
  }
  const schema = parseSchema(json);
  const code = generateModule(schema, {
    source,
    ...(values['import-from'] !== undefined ? { importFrom: values['import-from'] } : {}),
  });
  if (values.out) await writeFile(values.out, code);
  else process.stdout.write(code);
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      server: { type: 'string' },
      db: { type: 'string' },
      'import-from': { type: 'string' },
      'private-key': { type: 'string', short: 'p' },
      certificate: { type: 'string', short: 'c' },
      'ca-cert': { type: 'string', short: 'C' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

async function fetchSchema(
  endpoint: string,
  db: string,
  tls: { keyFile?: string; certFile?: string; caFile?: string },
): Promise<unknown> {
  // Loaded only for --server: generating from a file needs no connection code.
  const { connect } = await import('../client.js');
  const client = await connect(endpoint, Object.keys(tls).length ? { tls } : {});
  try {
    return await client.getSchema(db);
  } finally {
    await client.close();
  }
}

// A reader that stops early (`| head`) closes our stdout: that is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`ovsdb-codegen: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
