// Example 3 — a docker-compose application on the plugin's networks (examples/compose/docker-compose.yml):
// two networks with driver_opts (bridge, vlan, mtu, tenant_id) on one OVS bridge; the app tier reaches the
// web tier over HTTP and the database over TCP, the web tier cannot reach the database; then `down`.
// Needs the plugin running (`pnpm plugin -- --datapath-type netdev`, or the systemd unit).
//
//   tsx examples/compose-app.ts [--driver ovs-container-network] [--bridge br-app] [--project shop] [--keep]
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flags, main, sh } from './lib/cli.js';

const opts = flags(
  'usage: tsx examples/compose-app.ts [--driver NAME] [--bridge NAME] [--project NAME] [--keep]',
  {
    driver: { type: 'string', default: 'ovs-container-network' },
    bridge: { type: 'string', default: 'br-app' },
    project: { type: 'string', default: 'shop' },
    keep: { type: 'boolean', default: false },
  },
);
const DOCKER = '/usr/bin/docker';
const file = join(dirname(fileURLToPath(import.meta.url)), 'compose', 'docker-compose.yml');
const env = { ...process.env, OCN_DRIVER: opts.driver, OCN_BRIDGE: opts.bridge };

function compose(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      'docker-compose',
      ['-p', opts.project, '-f', file, ...args],
      { env, timeout: 180_000 },
      (err, o, e) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${o}${e}` }),
    );
  });
}

const container = (service: string) => `${opts.project}_${service}_1`;
const exec = (service: string, ...cmd: string[]) => sh(DOCKER, ['exec', container(service), ...cmd]);

main(async () => {
  let failures = 0;
  const check = (ok: boolean, what: string) => {
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
    if (!ok) failures++;
  };
  const up = await compose('up', '-d');
  if (up.code !== 0) throw new Error(`docker-compose up failed:\n${up.out}`);
  console.log(`up: ${opts.project} on driver ${opts.driver}, bridge ${opts.bridge}`);
  try {
    // The HTTP server and the stand-in database start asynchronously: give them a few tries.
    let page = '';
    for (let i = 0; i < 20 && !page.includes('hello-from-web'); i++) {
      // busybox nc, not wget (the static busybox's wget crashes in its resolver); nc quits as soon as its
      // stdin ends, so the request pipe stays open for a second while the reply comes back.
      page = (
        await exec('app', 'sh', '-c', `(printf 'GET / HTTP/1.0\\r\\n\\r\\n'; sleep 1) | nc 10.97.1.10 80`)
      ).stdout;
      if (!page.includes('hello-from-web')) await new Promise((r) => setTimeout(r, 250));
    }
    check(page.includes('hello-from-web'), 'app -> web over HTTP (front network, VLAN 110)');
    let pong = '';
    for (let i = 0; i < 20 && !pong.includes('pong'); i++) {
      pong = (await exec('app', 'sh', '-c', '(echo ping; sleep 1) | nc 10.97.2.30 5432')).stdout;
      if (!pong.includes('pong')) await new Promise((r) => setTimeout(r, 250));
    }
    check(pong.includes('pong'), 'app -> db over TCP 5432 (back network, VLAN 120)');
    const cross = await exec('web', 'ping', '-c', '1', '-W', '1', '10.97.2.30');
    check(cross.code !== 0, 'web cannot reach db (different network and VLAN)');
    const mtu = (await exec('web', 'cat', '/sys/class/net/eth0/mtu')).stdout.trim();
    check(mtu === '1450', `web's MTU is the network's (driver_opts mtu): ${mtu}`);

    // What OVS holds: the endpoints' ports, found by the tenant recorded in external_ids.
    const ovsdb = opts.ovsdb;
    const ports = await sh('ovs-vsctl', [
      `--db=${ovsdb}`,
      '--data=bare',
      '--no-heading',
      '--columns=name,tag',
      'find',
      'Port',
      'external_ids:ocn-tenant=shop',
    ]);
    const rows = ports.stdout
      .trim()
      .split(/\n\s*\n/)
      .filter(Boolean);
    console.log(`ovs-vsctl find Port external_ids:ocn-tenant=shop -> ${rows.length} ports`);
    check(rows.length >= 4, 'tenant_id is recorded on every endpoint port (4 endpoints)');
  } finally {
    if (!opts.keep) {
      const down = await compose('down');
      console.log(down.code === 0 ? 'down: removed containers and networks' : `down failed:\n${down.out}`);
    }
  }
  if (failures) throw new Error(`${failures} check(s) failed`);
  console.log('all checks passed');
});
