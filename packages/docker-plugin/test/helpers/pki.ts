// A throwaway PKI for ssl: tests, made with the openssl CLI: CAs and certificates (EC P-256) signed by
// them, in a private directory under /run.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '@ovs-container-network/testkit';

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export class TestPki {
  readonly dir = mkdtempSync('/run/ocnt-pki-');
  path(file: string): string {
    return join(this.dir, file);
  }
  /** `NAME.pem` and `NAME.key`: a self-signed CA. */
  async ca(name: string): Promise<void> {
    await run('openssl', [
      'req',
      '-x509',
      ...EC,
      '-keyout',
      this.path(`${name}.key`),
      '-out',
      this.path(`${name}.pem`),
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
    ]);
  }
  /** `NAME.pem` and `NAME.key` signed by CA `ca`. */
  async cert(name: string, ca: string): Promise<void> {
    const p = (f: string) => this.path(f);
    await run('openssl', [
      'req',
      ...EC,
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.csr`),
      '-subj',
      `/CN=${name}`,
    ]);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      p(`${name}.csr`),
      '-CA',
      p(`${ca}.pem`),
      '-CAkey',
      p(`${ca}.key`),
      '-CAcreateserial',
      '-out',
      p(`${name}.pem`),
      '-days',
      '2',
    ]);
  }
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
