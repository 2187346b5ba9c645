// docker-compose (v1) brings up a multi-container app on the plugin's networks, configured with
// driver_opts: a web server reachable by name from a client on its network, and a database network the web
// server cannot reach.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDocker, run, uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';
import { deleteBridges, exec, settledLeftovers, startPluginProcess, vsctl } from '../helpers/plugin.js';

const COMPOSE = '/usr/bin/docker-compose';

t.test('a docker-compose app with driver_opts', async (t) => {
  await ensureDocker();
  const p = await startPluginProcess();
  const bridge = uniqueName('br');
  const project = uniqueName('pj');
  const tenant = uniqueName('tn');
  const dir = mkdtempSync('/tmp/ocnt-compose-');
  const o2 = Math.floor(Math.random() * 200) + 20;
  const file = join(dir, 'docker-compose.yml');
  writeFileSync(
    file,
    `version: "2.4"
services:
  web:
    image: local/busybox
    command: ["sh", "-c", "echo hello-from-web > /index.html && httpd -f -p 8080 -h /"]
    networks: [front]
  client:
    image: local/busybox
    command: ["sleep", "3600"]
    networks: [front, back]
  db:
    image: local/busybox
    command: ["sleep", "3600"]
    networks: [back]
networks:
  front:
    driver: ${p.name}
    driver_opts:
      bridge: ${bridge}
      vlan: "310"
      tenant_id: ${tenant}
      mtu: "1450"
    ipam:
      config:
        - subnet: 10.${o2}.252.0/24
  back:
    driver: ${p.name}
    driver_opts:
      bridge: ${bridge}
      vlan: "311"
    ipam:
      config:
        - subnet: 10.${o2}.253.0/24
`,
  );
  const compose = (...args: string[]) =>
    run(COMPOSE, ['-f', file, '-p', project, ...args], {
      allowFail: true,
      timeoutMs: 180_000,
      env: { ...process.env, DOCKER_HOST: 'unix:///var/run/docker.sock' },
    });
  t.teardown(async () => {
    await compose('down', '--remove-orphans', '-t', '1');
    // The bridge goes even when stop() throws, or it leaks into the next run.
    await p.stop().finally(() => deleteBridges(p.ovsdb, [bridge]));
    rmSync(dir, { recursive: true, force: true });
  });

  const up = await compose('up', '-d');
  t.equal(up.code, 0, `docker-compose up: ${up.stderr.trim().split('\n').slice(-2).join(' ')}`);
  const client = `${project}_client_1`;
  const db = `${project}_db_1`;
  // busybox-static's wget crashes here; nc speaks enough HTTP.
  const get = (host: string, c = client) =>
    exec(c, ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 5 nc ${host} 8080`], true);
  const page = await get('web');
  t.match(page.stdout, /200 OK[\s\S]*hello-from-web/, 'the client fetches the web page by service name');
  const frontIf = (await exec(client, ['ip', '-o', 'addr', 'show', 'to', `10.${o2}.252.0/24`])).stdout.split(
    /\s+/,
  )[1];
  t.equal(
    (await exec(client, ['cat', `/sys/class/net/${frontIf}/mtu`])).stdout.trim(),
    '1450',
    'driver_opts mtu',
  );
  const dbPing = await exec(db, ['ping', '-c', '1', '-W', '1', 'client'], true);
  t.equal(dbPing.code, 0, 'db reaches the client on the back network');
  const webIp =
    (await exec(client, ['nslookup', 'web', '127.0.0.11'])).stdout.match(/Address:\s*(10\.\S+)/)?.[1] ?? '';
  t.match(webIp, new RegExp(`^10\\.${o2}\\.252\\.`), 'web resolves to its front address');
  const cross = await get(webIp, db);
  t.notMatch(cross.stdout, /hello-from-web/, 'db cannot reach web (different network, isolated)');
  const tagged = await vsctl(
    p.ovsdb,
    '--columns=tag',
    '--format=csv',
    '--no-headings',
    'find',
    'Port',
    `external_ids:ocn-tenant=${tenant}`,
  );
  t.ok(
    tagged
      .split('\n')
      .filter(Boolean)
      .every((l) => l.trim() === '310'),
    'driver_opts vlan and tenant_id recorded on the ports',
  );

  const down = await compose('down', '-t', '1');
  t.equal(down.code, 0, 'docker-compose down');
  t.same(await settledLeftovers(p), [], 'nothing left after down');
});
