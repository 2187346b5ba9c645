// Attach + detach of the same 50 busybox containers (`--network none`) through the orchestrator API and
// through `ovs-docker add-port` / `del-port`, in one run, against the same OVS (the shared sandbox in
// OCN_OVS_DIR/OCN_OVSDB, else a private one). Prints medians per container and the ratio.
//
//   pnpm --filter @ovs-container-network/docker-plugin bench:attach [-- --n 50]
//
// ovs-docker finds the database the way ovs-vsctl does: `unix:$OVS_RUNDIR/db.sock` (it passes no --db), so
// OVS_RUNDIR is pointed at the sandbox; it calls `docker inspect`, so Debian's client (matching dockerd
// 20.10) goes first on PATH.
import { parseArgs } from 'node:util';
import {
  BUSYBOX_IMAGE,
  docker,
  ensureDocker,
  ovsSandbox,
  run,
  uniqueName,
} from '@ovs-container-network/testkit';
import { Orchestrator } from '../src/orchestrator/index.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '50' } } });
const N = Number(values.n);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const ms = (x: number): string => `${x.toFixed(2)} ms`;

await ensureDocker();
const sandbox = await ovsSandbox({ vswitchd: true });
const bridge = uniqueName('bb');
const containers: string[] = [];
const ovsDockerEnv = { ...process.env, OVS_RUNDIR: sandbox.dir, PATH: `/usr/bin:${process.env.PATH ?? ''}` };
let orch: Orchestrator | undefined;

try {
  // ovs-docker would create the bridge with the default (kernel) datapath; make it netdev first.
  await sandbox.vsctl('add-br', bridge, '--', 'set', 'bridge', bridge, 'datapath_type=netdev');
  const prefix = uniqueName('b', 11);
  for (let i = 0; i < N; i += 10) {
    const batch = Array.from({ length: Math.min(10, N - i) }, (_, j) => `${prefix}${i + j}`);
    await Promise.all(
      batch.map((name) =>
        docker(['run', '-d', '--network', 'none', '--name', name, BUSYBOX_IMAGE, 'sleep', '3600']),
      ),
    );
    containers.push(...batch);
  }
  console.log(`${N} busybox containers (--network none) running; bridge ${bridge} (netdev)`);

  // 1. ovs-docker, one container at a time: add-port, set-vlan (ovs-docker tags in a second command), del-port.
  const ovsDocker: number[] = [];
  const ovsDockerAdd: number[] = [];
  for (const [i, c] of containers.entries()) {
    const t0 = performance.now();
    await run(
      'ovs-docker',
      ['add-port', bridge, 'eth1', c, `--ipaddress=10.90.${i >> 8}.${(i & 255) + 1}/16`, '--mtu=1450'],
      { env: ovsDockerEnv },
    );
    await run('ovs-docker', ['set-vlan', bridge, 'eth1', c, '90'], { env: ovsDockerEnv });
    const t1 = performance.now();
    await run('ovs-docker', ['del-port', bridge, 'eth1', c], { env: ovsDockerEnv });
    ovsDocker.push(performance.now() - t0);
    ovsDockerAdd.push(t1 - t0);
  }

  // 2. The API, one container at a time: attach (resolve through the Engine API, veth, OVS port with tag,
  //    namespace config) then detach.
  orch = await Orchestrator.connect({ ovsdb: sandbox.endpoint, datapathType: 'netdev', namePrefix: 'ocnt' });
  const api: number[] = [];
  const apiAttach: number[] = [];
  for (const [i, c] of containers.entries()) {
    const t0 = performance.now();
    await orch.attach({
      bridge,
      target: { container: c },
      ifname: 'eth1',
      addresses: [`10.90.${i >> 8}.${(i & 255) + 1}/16`],
      mtu: 1450,
      vlan: 90,
    });
    const t1 = performance.now();
    await orch.detach({ containerId: c, ifname: 'eth1' });
    api.push(performance.now() - t0);
    apiAttach.push(t1 - t0);
  }

  // 3. The API, all 50 at once: concurrent attaches, then concurrent detaches.
  const b0 = performance.now();
  await Promise.all(
    containers.map((c, i) =>
      orch!.attach({
        bridge,
        target: { container: c },
        ifname: 'eth1',
        addresses: [`10.90.${i >> 8}.${(i & 255) + 1}/16`],
        mtu: 1450,
        vlan: 90,
      }),
    ),
  );
  const b1 = performance.now();
  await Promise.all(containers.map((c) => orch!.detachAll({ containerId: c })));
  const b2 = performance.now();

  const mOvs = median(ovsDocker);
  const mApi = median(api);
  console.log('');
  console.log(`attach+detach per container, median of ${N} (sequential):`);
  console.log(
    `  ovs-docker add-port+set-vlan+del-port ${ms(mOvs)}   (add-port + set-vlan ${ms(median(ovsDockerAdd))})`,
  );
  console.log(
    `  orchestrator attach + detach          ${ms(mApi)}   (attach alone ${ms(median(apiAttach))})`,
  );
  console.log(`  ratio                                 ${(mOvs / mApi).toFixed(1)}x faster`);
  console.log(`all ${N} at once through the API:`);
  console.log(
    `  ${N} concurrent attaches ${ms(b1 - b0)}, ${N} concurrent detaches ${ms(b2 - b1)}; ` +
      `${ms((b2 - b0) / N)} per container, ${(mOvs / ((b2 - b0) / N)).toFixed(1)}x ovs-docker's median`,
  );
} finally {
  await orch?.detachAll({ bridge }).catch(() => undefined);
  await orch?.close();
  for (const c of containers)
    await run('ovs-docker', ['del-ports', bridge, c], { env: ovsDockerEnv, allowFail: true });
  if (containers.length) await docker(['rm', '-f', ...containers], true);
  await sandbox.vsctl('--if-exists', 'del-br', bridge);
  await sandbox.stop();
}
