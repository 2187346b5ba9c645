#!/usr/bin/env python3
"""ovsdbapp (Debian python3-ovsdbapp) side of bench/lsp-create.ts.

Usage: ovsdbapp-lsp.py ENDPOINT PREFIX BASE N PER_TXN SWITCH[,SWITCH...]
       ovsdbapp-lsp.py --sync ENDPOINT

Creates N logical switch ports (name, addresses, port_security), PER_TXN per transaction, port i on
switch i % len(switches), and prints JSON {"total_ms", "txn_ms": [...]} timed inside Python (the IDL's
connection and initial sync are outside the timing). --sync prints {"ms"}: connection to initial sync.
"""
import json
import sys
import time

from ovsdbapp.backend.ovs_idl import connection
from ovsdbapp.schema.ovn_northbound import impl_idl


def connect(endpoint):
    idl = connection.OvsdbIdl.from_server(endpoint, 'OVN_Northbound')
    conn = connection.Connection(idl=idl, timeout=120)
    api = impl_idl.OvnNbApiIdlImpl(conn)
    return api


def port(prefix, base, i):
    # The same shape as lsp-create.ts's port(): index base + i gives a unique MAC and IPv4.
    k = base + i
    mac = '0a:%02x:%02x:%02x:%02x:01' % ((k >> 24) & 255, (k >> 16) & 255, (k >> 8) & 255, k & 255)
    addr = '%s 10.%d.%d.%d' % (mac, 100 + ((k >> 16) & 63), (k >> 8) & 255, (k & 255))
    return '%s%d' % (prefix, i), addr


def main(argv):
    if argv[1] == '--sync':
        t0 = time.perf_counter()
        api = connect(argv[2])
        n = len(api.tables['Logical_Switch_Port'].rows)
        print(json.dumps({'ms': (time.perf_counter() - t0) * 1000, 'rows': n}))
        return
    endpoint, prefix, base = argv[1], argv[2], int(argv[3])
    n, per_txn, switches = int(argv[4]), int(argv[5]), argv[6].split(',')
    api = connect(endpoint)
    txn_ms = []
    t0 = time.perf_counter()
    for start in range(0, n, per_txn):
        s = time.perf_counter()
        with api.transaction(check_error=True) as txn:
            for i in range(start, min(n, start + per_txn)):
                name, addr = port(prefix, base, i)
                txn.add(api.lsp_add(switches[i % len(switches)], name, addresses=[addr], port_security=[addr]))
        txn_ms.append((time.perf_counter() - s) * 1000)
    print(json.dumps({'total_ms': (time.perf_counter() - t0) * 1000, 'txn_ms': txn_ms}))


if __name__ == '__main__':
    main(sys.argv)
