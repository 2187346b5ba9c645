#!/usr/bin/env python3
"""Replays test/sequence.ts's STEPS through ovsdbapp's OVN_Northbound API (Debian python3-ovsdbapp 2.1).

Usage: ovsdbapp-sequence.py unix:/path/to/db.sock [--changes]

With --changes, test/sequence.ts's CHANGES follow (deletions and updates in one transaction).

Where ovsdbapp 2.1 has no command for a step (ECMP routes, route tables, an HA chassis group on a router
port) it uses its generic db_create/db_add/db_set, as a neutron-style caller would. Each step is one
ovsdbapp transaction, like each step of the TypeScript sequence.
"""
import sys

from ovsdbapp.backend.ovs_idl import connection
from ovsdbapp.schema.ovn_northbound import impl_idl

OWNER = {'owner': 'ovn-test'}
DHCP4 = {'server_id': '10.0.0.1', 'server_mac': '00:00:00:00:ff:01',
         'lease_time': '3600', 'router': '10.0.0.1'}


def main(endpoint, phase2):
    idl = connection.OvsdbIdl.from_server(endpoint, 'OVN_Northbound')
    api = impl_idl.OvnNbApiIdlImpl(connection.Connection(idl=idl, timeout=20))

    with api.transaction(check_error=True) as txn:
        txn.add(api.ls_add('ls0', other_config={
            'subnet': '10.0.0.0/24', 'exclude_ips': '10.0.0.1 10.0.0.100..10.0.0.110'},
            external_ids=OWNER))
        txn.add(api.lsp_add('ls0', 'ls0-p1', addresses=['dynamic'], external_ids=OWNER))
        txn.add(api.lsp_add('ls0', 'ls0-p2'))
        txn.add(api.lsp_set_addresses('ls0-p2', ['0a:00:00:00:00:02 10.0.0.2']))
        txn.add(api.lsp_set_port_security('ls0-p2', ['0a:00:00:00:00:02 10.0.0.2']))
        txn.add(api.lsp_add('ls0', 'ls0-p3', addresses=['unknown'], type='localnet',
                            options={'network_name': 'phys'}))

    with api.transaction(check_error=True) as txn:
        txn.add(api.lr_add('lr0', external_ids=OWNER))
        txn.add(api.lrp_add('lr0', 'lr0-ls0', '00:00:00:00:ff:01', ['10.0.0.1/24']))
        txn.add(api.lsp_add('ls0', 'ls0-lr0', type='router', addresses=['router'],
                            options={'router-port': 'lr0-ls0'}))
        txn.add(api.lrp_set_gateway_chassis('lr0-ls0', 'ch1', 10))

    with api.transaction(check_error=True) as txn:
        txn.add(api.lr_route_add('lr0', '0.0.0.0/0', '10.0.0.254'))
        for nexthop in ('10.0.0.253', '10.0.0.252'):
            r = txn.add(api.db_create('Logical_Router_Static_Route', ip_prefix='192.168.0.0/16',
                                      nexthop=nexthop, policy='dst-ip'))
            txn.add(api.db_add('Logical_Router', 'lr0', 'static_routes', r))
        r = txn.add(api.db_create('Logical_Router_Static_Route', ip_prefix='172.20.0.0/16',
                                  nexthop='10.0.0.251', policy='dst-ip', route_table='rtb1'))
        txn.add(api.db_add('Logical_Router', 'lr0', 'static_routes', r))
        txn.add(api.lr_policy_add('lr0', 100, 'ip4.src == 10.0.0.0/24', 'reroute',
                                  nexthops=['10.0.0.250']))

    with api.transaction(check_error=True) as txn:
        txn.add(api.lr_nat_add('lr0', 'snat', '172.16.0.1', '10.0.0.0/24'))
        txn.add(api.lr_nat_add('lr0', 'dnat_and_snat', '172.16.0.2', '10.0.0.2',
                               logical_port='ls0-p2', external_mac='0a:00:00:00:00:f2'))
        txn.add(api.lr_nat_add('lr0', 'dnat', '172.16.0.3', '10.0.0.3'))

    with api.transaction(check_error=True) as txn:
        txn.add(api.lb_add('lb0', '10.0.0.10:80', ['10.0.0.2:8080', '10.0.0.3:8080'], protocol='tcp'))
    with api.transaction(check_error=True) as txn:
        txn.add(api.lb_add_health_check('lb0', '10.0.0.10:80', interval='5'))
        txn.add(api.ls_lb_add('ls0', 'lb0'))
        txn.add(api.lr_lb_add('lr0', 'lb0'))
        txn.add(api.lb_add('lb1', '10.0.0.11:53', ['10.0.0.2:5353'], protocol='udp'))

    with api.transaction(check_error=True) as txn:
        txn.add(api.pg_add('pg0'))
    # pg_add_ports takes uuids or rows: a port *name* is silently dropped by the IDL (it is not a uuid), and
    # the port group stays empty without an error (ovsdbapp 2.1).
    ports = [api.lsp_get(p).execute(check_error=True).uuid for p in ('ls0-p1', 'ls0-p2')]
    with api.transaction(check_error=True) as txn:
        txn.add(api.pg_add_ports('pg0', ports))
        txn.add(api.pg_acl_add('pg0', 'to-lport', 1001, 'outport == @pg0 && ip4', 'allow-related'))
        txn.add(api.acl_add('ls0', 'from-lport', 100, 'ip4.dst == 8.8.8.8', 'drop', log=True,
                            severity='info', name='no-dns', **OWNER))
        txn.add(api.address_set_add('as0', ['10.0.0.2', '10.0.0.3']))

    with api.transaction(check_error=True) as txn:
        dhcp = txn.add(api.dhcp_options_add('10.0.0.0/24', **OWNER))
    with api.transaction(check_error=True) as txn:
        txn.add(api.dhcp_options_set_options(dhcp.result.uuid, **DHCP4))
        txn.add(api.lsp_set_dhcpv4_options('ls0-p2', dhcp.result.uuid))
        dns = txn.add(api.dns_add(external_ids=OWNER, records={'vm1.example': '10.0.0.2'}))
    with api.transaction(check_error=True) as txn:
        txn.add(api.ls_add_dns_record('ls0', dns.result.uuid))

    with api.transaction(check_error=True) as txn:
        txn.add(api.qos_add('ls0', 'from-lport', 100, 'inport == "ls0-p1"', rate=1000, burst=100))
        txn.add(api.qos_add('ls0', 'to-lport', 200, 'ip4', dscp=10))
        txn.add(api.meter_add('m0', 'pktps', 100, False, 10, 'drop'))

    with api.transaction(check_error=True) as txn:
        txn.add(api.ha_chassis_group_add('hcg0'))
    with api.transaction(check_error=True) as txn:
        txn.add(api.ha_chassis_group_add_chassis('hcg0', 'ch1', 20))
        txn.add(api.ha_chassis_group_add_chassis('hcg0', 'ch2', 10))
        txn.add(api.lrp_add('lr0', 'lr0-ext', '00:00:00:00:ff:02', ['172.16.0.254/24']))
    hcg = api.ha_chassis_group_get('hcg0').execute(check_error=True)
    with api.transaction(check_error=True) as txn:
        txn.add(api.db_set('Logical_Router_Port', 'lr0-ext', ('ha_chassis_group', hcg.uuid)))

    if phase2:
        changes(api)
    api.ovsdb_connection.stop()


def changes(api):
    """test/sequence.ts CHANGES: deletions and updates, in one transaction."""
    hc = api.lb_get('lb0').execute(check_error=True).health_check[0].uuid
    p1 = api.lsp_get('ls0-p1').execute(check_error=True).uuid
    dns = api.dns_list().execute(check_error=True)[0].uuid
    with api.transaction(check_error=True) as txn:
        txn.add(api.lsp_del('ls0-p3'))
        txn.add(api.lr_nat_del('lr0', 'dnat', '172.16.0.3'))
        txn.add(api.lr_route_del('lr0', '0.0.0.0/0'))
        txn.add(api.lr_policy_del('lr0', 100, 'ip4.src == 10.0.0.0/24'))
        txn.add(api.pg_acl_del('pg0', 'to-lport', 1001, 'outport == @pg0 && ip4'))
        txn.add(api.qos_del('ls0', 'to-lport', 200, 'ip4'))
        txn.add(api.lb_del('lb1'))
        txn.add(api.meter_del('m0'))
        txn.add(api.ha_chassis_group_del_chassis('hcg0', 'ch2'))
        txn.add(api.lrp_del_gateway_chassis('lr0-ls0', 'ch1'))
        txn.add(api.lb_del_health_check('lb0', hc))
        txn.add(api.ls_lb_del('ls0', 'lb0'))
        txn.add(api.pg_del_ports('pg0', [p1]))
        txn.add(api.address_set_remove_addresses('as0', ['10.0.0.3']))
        txn.add(api.lsp_set_addresses('ls0-p1', ['0a:00:00:00:00:05 10.0.0.5']))
        txn.add(api.dns_del(dns))


if __name__ == '__main__':
    main(sys.argv[1], '--changes' in sys.argv[2:])
