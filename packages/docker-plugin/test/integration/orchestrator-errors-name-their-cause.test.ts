// Regression (issue 10, a newcomer's trial): errors of the Orchestrator that hid their cause.
// - `Orchestrator.connect` to a socket that does not exist waited 30 s and threw a plain Error without a code,
//   where the low-level `OvsdbClient.connect` fails at once with `ConnectError`.
// - `attach` of an IPv6 address into a namespace where IPv6 is disabled (Docker sets disable_ipv6=1 in
//   `--network none` containers) failed with only "cannot attach X to bridge Y"; the kernel's EACCES was in
//   `err.cause` alone. Needs root (namespaces, veth) and the OVS sandbox with ovs-vswitchd.
import { ConnectError, OvsdbClient } from '@ovs-container-network/ovsdb';
import { createNetns, deleteNetns, nsExec, ovsSandbox, uniqueName } from '@ovs-container-network/testkit';
import t from 'tap';
import { WiringError } from '../../src/core/errors.js';
import { Orchestrator } from '../../src/orchestrator/index.js';

t.test(
  'connect to a missing socket fails at once with ConnectError, as OvsdbClient.connect does',
  async (t) => {
    const endpoint = `unix:/run/${uniqueName('nosock')}/db.sock`;
    const low = await OvsdbClient.connect(endpoint).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.type(low, ConnectError, 'the low-level client: ConnectError');
    const err = await Orchestrator.connect({ ovsdb: endpoint, datapathType: 'netdev' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.type(err, ConnectError, 'Orchestrator.connect: the same ConnectError');
    t.equal((err as ConnectError).code, 'OVSDB_ERR_CONNECT');
    t.match((err as Error).message, endpoint, 'names the endpoint');
    t.match((err as Error).message, /ENOENT|no such file/i, 'and what the system said');
  },
);

t.test(
  'attach of IPv6 into a namespace with IPv6 disabled names the cause and the fix; nothing is left',
  async (t) => {
    const sandbox = await ovsSandbox({ vswitchd: true });
    const bridge = uniqueName('br');
    const ns = await createNetns(uniqueName('ns'));
    const orch = await Orchestrator.connect({
      ovsdb: sandbox.endpoint,
      datapathType: 'netdev',
      namePrefix: 'ocnt',
    });
    t.teardown(async () => {
      await orch.close();
      await sandbox.vsctl('--if-exists', 'del-br', bridge);
      await deleteNetns(ns);
      await sandbox.stop();
    });
    // What Docker does in a container on no IPv6 network: interfaces created later inherit `default`.
    await nsExec(ns, 'sysctl', [
      '-qw',
      'net.ipv6.conf.all.disable_ipv6=1',
      'net.ipv6.conf.default.disable_ipv6=1',
    ]);
    await sandbox.vsctl('add-br', bridge, '--', 'set', 'bridge', bridge, 'datapath_type=netdev');
    const portsBefore = await sandbox.vsctl('list-ports', bridge);

    const err = await orch
      .attach({ bridge, target: { netns: ns }, ifname: 'eth1', addresses: ['10.72.0.2/24', 'fd72::2/64'] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    t.type(err, WiringError);
    const msg = (err as Error).message;
    t.match(msg, /fd72::2\/64/, 'names the address');
    t.match(msg, /IPv6 is disabled/, 'says why');
    t.match(msg, /disable_ipv6=0/, 'says how to fix it');
    t.match(msg, /EACCES/, 'carries what the kernel said');

    t.equal(await sandbox.vsctl('list-ports', bridge), portsBefore, 'no port left on the bridge');
    const links = await nsExec(ns, 'ip', ['-o', 'link', 'show']);
    t.notMatch(links.stdout, /eth1/, 'no interface left in the namespace');
    t.same(await orch.list({ bridge }), [], 'nothing recorded');
  },
);
