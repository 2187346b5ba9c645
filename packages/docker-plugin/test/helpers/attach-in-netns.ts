// Run inside a simulated OVN chassis' network namespace (nsenter --net=…), where its userspace ovs-vswitchd
// can open the veth: attaches a namespace to br-int with the Orchestrator, bound to a logical port by
// iface-id, and no address (its own DHCP client gets one). Prints the Attachment as JSON.
//   tsx attach-in-netns.ts OVSDB NETNS MAC IFACE_ID
import { Orchestrator } from '../../src/orchestrator/index.js';

const [ovsdb, netns, mac, ifaceId] = process.argv.slice(2);
if (!ovsdb || !netns || !mac || !ifaceId)
  throw new Error('usage: attach-in-netns.ts OVSDB NETNS MAC IFACE_ID');
const o = await Orchestrator.connect({ ovsdb, datapathType: 'netdev' });
try {
  const a = await o.attach({
    bridge: 'br-int',
    target: { netns },
    ifname: 'eth0',
    mac,
    externalIds: { 'iface-id': ifaceId },
  });
  console.log(JSON.stringify(a));
} finally {
  await o.close();
}
