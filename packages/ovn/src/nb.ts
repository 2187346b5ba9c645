// NbPlan: the typed builders of OVN_Northbound objects, as methods on one plan (one transaction).
//
//     const txn = new Transaction('OVN_Northbound');
//     const nb = new NbPlan(txn, await NbSnapshot.load(client));
//     nb.ensureSwitch({ name: 'ls0', subnet: '10.0.0.0/24' });
//     nb.ensureSwitchPort({ switch: 'ls0', name: 'ls0-vm1', addresses: ['dynamic'] });
//     await txn.execute(client);
//
// Every ensure is idempotent (a second identical call adds no operation), every delete removes what the
// matching ensure made and nothing else, and all of them add to the same transaction, which commits or
// fails as one. `nbTransact` runs this loop for you, with retries when a guard fails.

import {
  attachLoadBalancer,
  deleteHealthCheck,
  deleteLoadBalancer,
  ensureLoadBalancer,
  type LoadBalancerSpec,
} from './builders/lb.js';
import {
  deleteHaChassisGroup,
  deleteMeter,
  deleteQos,
  ensureHaChassisGroup,
  ensureMeter,
  ensureQos,
  type HaChassisGroupSpec,
  type MeterSpec,
  type QosSpec,
} from './builders/qos.js';
import {
  deleteGatewayChassis,
  deleteLogicalRouter,
  deleteLogicalRouterPort,
  deleteNat,
  deleteRouterPolicy,
  deleteStaticRoute,
  ensureGatewayChassis,
  ensureLogicalRouter,
  ensureLogicalRouterPort,
  ensureNat,
  ensureRouterPolicy,
  ensureStaticRoute,
  type GatewayChassisSpec,
  type LogicalRouterPortSpec,
  type LogicalRouterSpec,
  type NatSpec,
  type RouterPolicySpec,
  type StaticRouteSpec,
} from './builders/router.js';
import {
  type AclSpec,
  type AddressSetSpec,
  addressSetAddresses,
  deleteAcl,
  deleteAddressSet,
  deletePortGroup,
  ensureAcl,
  ensureAddressSet,
  ensurePortGroup,
  type PortGroupSpec,
  portGroupPorts,
} from './builders/security.js';
import {
  type DhcpOptionsSpec,
  type DnsSpec,
  deleteDhcpOptions,
  deleteDns,
  ensureDhcpOptions,
  ensureDns,
} from './builders/services.js';
import {
  deleteLogicalSwitch,
  deleteLogicalSwitchPort,
  ensureLogicalSwitch,
  ensureLogicalSwitchPort,
  type LogicalSwitchPortSpec,
  type LogicalSwitchSpec,
} from './builders/switch.js';
import type { Ref } from './plan.js';
import { NbPlanCore } from './plan.js';

export class NbPlan extends NbPlanCore {
  // -- switches
  ensureSwitch(spec: LogicalSwitchSpec): Ref<'Logical_Switch'> {
    return ensureLogicalSwitch(this, spec);
  }
  deleteSwitch(name: string): boolean {
    return deleteLogicalSwitch(this, name);
  }
  ensureSwitchPort(spec: LogicalSwitchPortSpec): Ref<'Logical_Switch_Port'> {
    return ensureLogicalSwitchPort(this, spec);
  }
  deleteSwitchPort(name: string): boolean {
    return deleteLogicalSwitchPort(this, name);
  }

  // -- routers
  ensureRouter(spec: LogicalRouterSpec): Ref<'Logical_Router'> {
    return ensureLogicalRouter(this, spec);
  }
  deleteRouter(name: string): boolean {
    return deleteLogicalRouter(this, name);
  }
  ensureRouterPort(spec: LogicalRouterPortSpec): Ref<'Logical_Router_Port'> {
    return ensureLogicalRouterPort(this, spec);
  }
  deleteRouterPort(name: string): boolean {
    return deleteLogicalRouterPort(this, name);
  }
  ensureGatewayChassis(spec: GatewayChassisSpec): Ref<'Gateway_Chassis'> {
    return ensureGatewayChassis(this, spec);
  }
  deleteGatewayChassis(spec: { routerPort: string; chassis: string }): boolean {
    return deleteGatewayChassis(this, spec);
  }
  ensureStaticRoute(spec: StaticRouteSpec): Ref<'Logical_Router_Static_Route'> {
    return ensureStaticRoute(this, spec);
  }
  deleteStaticRoute(spec: Parameters<typeof deleteStaticRoute>[1]): number {
    return deleteStaticRoute(this, spec);
  }
  ensureRouterPolicy(spec: RouterPolicySpec): Ref<'Logical_Router_Policy'> {
    return ensureRouterPolicy(this, spec);
  }
  deleteRouterPolicy(spec: { router: string; priority: number; match: string }): boolean {
    return deleteRouterPolicy(this, spec);
  }
  ensureNat(spec: NatSpec): Ref<'NAT'> {
    return ensureNat(this, spec);
  }
  deleteNat(spec: Pick<NatSpec, 'router' | 'type' | 'externalIp' | 'logicalIp'>): boolean {
    return deleteNat(this, spec);
  }

  // -- load balancers
  ensureLoadBalancer(spec: LoadBalancerSpec): Ref<'Load_Balancer'> {
    return ensureLoadBalancer(this, spec);
  }
  deleteLoadBalancer(name: string): boolean {
    return deleteLoadBalancer(this, name);
  }
  attachLoadBalancer(spec: {
    loadBalancer: string;
    switches?: readonly string[];
    routers?: readonly string[];
  }): void {
    attachLoadBalancer(this, spec);
  }
  detachLoadBalancer(spec: {
    loadBalancer: string;
    switches?: readonly string[];
    routers?: readonly string[];
  }): void {
    attachLoadBalancer(this, spec, true);
  }
  deleteHealthCheck(spec: { loadBalancer: string; vip: string }): boolean {
    return deleteHealthCheck(this, spec);
  }

  // -- ACLs, port groups, address sets
  ensureAcl(spec: AclSpec): Ref<'ACL'> {
    return ensureAcl(this, spec);
  }
  deleteAcl(spec: Pick<AclSpec, 'parent' | 'direction' | 'priority' | 'match'>): boolean {
    return deleteAcl(this, spec);
  }
  ensurePortGroup(spec: PortGroupSpec): Ref<'Port_Group'> {
    return ensurePortGroup(this, spec);
  }
  addPortGroupPorts(spec: { portGroup: string; ports: readonly string[] }): boolean {
    return portGroupPorts(this, spec);
  }
  removePortGroupPorts(spec: { portGroup: string; ports: readonly string[] }): boolean {
    return portGroupPorts(this, spec, true);
  }
  deletePortGroup(name: string): boolean {
    return deletePortGroup(this, name);
  }
  ensureAddressSet(spec: AddressSetSpec): Ref<'Address_Set'> {
    return ensureAddressSet(this, spec);
  }
  addAddresses(spec: { addressSet: string; addresses: readonly string[] }): boolean {
    return addressSetAddresses(this, spec);
  }
  removeAddresses(spec: { addressSet: string; addresses: readonly string[] }): boolean {
    return addressSetAddresses(this, spec, true);
  }
  deleteAddressSet(name: string): boolean {
    return deleteAddressSet(this, name);
  }

  // -- DHCP, DNS
  ensureDhcpOptions(spec: DhcpOptionsSpec): Ref<'DHCP_Options'> {
    return ensureDhcpOptions(this, spec);
  }
  deleteDhcpOptions(spec: Pick<DhcpOptionsSpec, 'cidr' | 'externalIds'>): boolean {
    return deleteDhcpOptions(this, spec);
  }
  ensureDns(spec: DnsSpec): Ref<'DNS'> {
    return ensureDns(this, spec);
  }
  deleteDns(spec: Pick<DnsSpec, 'externalIds'>): boolean {
    return deleteDns(this, spec);
  }

  // -- QoS, meters, HA chassis groups
  ensureQos(spec: QosSpec): Ref<'QoS'> {
    return ensureQos(this, spec);
  }
  deleteQos(spec: Pick<QosSpec, 'switch' | 'direction' | 'priority' | 'match'>): boolean {
    return deleteQos(this, spec);
  }
  ensureMeter(spec: MeterSpec): Ref<'Meter'> {
    return ensureMeter(this, spec);
  }
  deleteMeter(name: string): boolean {
    return deleteMeter(this, name);
  }
  ensureHaChassisGroup(spec: HaChassisGroupSpec): Ref<'HA_Chassis_Group'> {
    return ensureHaChassisGroup(this, spec);
  }
  deleteHaChassisGroup(name: string): boolean {
    return deleteHaChassisGroup(this, name);
  }
}
