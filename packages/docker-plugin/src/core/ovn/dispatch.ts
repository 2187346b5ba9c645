// The hook between the single-host driver and OVN mode: Docker's calls go to OvnDriver when the network
// is an OVN one (CreateNetwork with `-o mode=ovn`; later calls by network id, found in NB) or the IPAM pool
// is (RequestPool with `--ipam-opt logical_switch`; later calls by PoolID), to the local driver otherwise.

import type { CreateEndpointRequest, CreateNetworkRequest, EndpointRef, JoinRequest } from '../api.js';
import { InvalidOptionError } from '../errors.js';
import type { IpamDriverApi, NetworkDriverApi, SetEndpointQosRequest } from '../types.js';
import { OvnDriver } from './driver.js';
import { isOvnMode } from './model.js';

export class OvnNetworkDispatch implements NetworkDriverApi {
  constructor(
    readonly local: NetworkDriverApi,
    readonly ovn: OvnDriver | undefined,
  ) {}

  #for(networkId: string): NetworkDriverApi | OvnDriver {
    return this.ovn?.handlesNetwork(networkId) ? this.ovn : this.local;
  }

  async createNetwork(req: CreateNetworkRequest): Promise<void> {
    if (!isOvnMode(req.Options)) return this.local.createNetwork(req);
    if (!this.ovn)
      throw new InvalidOptionError(
        'mode',
        'ovn',
        'a plugin started with --ovn-nb (OVN mode is off on this host)',
      );
    return this.ovn.createNetwork(req);
  }
  deleteNetwork(req: { NetworkID: string }) {
    return this.#for(req.NetworkID).deleteNetwork(req);
  }
  createEndpoint(req: CreateEndpointRequest) {
    return this.#for(req.NetworkID).createEndpoint(req);
  }
  deleteEndpoint(req: EndpointRef) {
    return this.#for(req.NetworkID).deleteEndpoint(req);
  }
  join(req: JoinRequest) {
    return this.#for(req.NetworkID).join(req);
  }
  leave(req: EndpointRef) {
    return this.#for(req.NetworkID).leave(req);
  }
  endpointOperInfo(req: EndpointRef) {
    return this.#for(req.NetworkID).endpointOperInfo(req);
  }
  async setEndpointQos(req: SetEndpointQosRequest): Promise<Record<string, unknown>> {
    const d = this.#for(req.NetworkID);
    if (!d.setEndpointQos)
      throw new InvalidOptionError('NetworkID', req.NetworkID, 'a network whose driver can change limits');
    return d.setEndpointQos(req);
  }
}

export class OvnIpamDispatch implements IpamDriverApi {
  constructor(
    readonly local: IpamDriverApi,
    readonly ovn: OvnDriver | undefined,
  ) {}

  /** Docker sends the endpoint's MAC with RequestAddress when the local driver asks for it (DHCP mode). */
  get requiresMacAddress(): boolean {
    return this.local.requiresMacAddress === true;
  }

  requestPool(req: Parameters<IpamDriverApi['requestPool']>[0]) {
    if (req.Options?.logical_switch === undefined) return this.local.requestPool(req);
    if (!this.ovn)
      throw new InvalidOptionError(
        '--ipam-opt logical_switch',
        req.Options.logical_switch,
        'a plugin started with --ovn-nb (OVN mode is off on this host)',
      );
    return this.ovn.requestPool(req);
  }
  releasePool(req: { PoolID: string }) {
    return this.ovn && OvnDriver.isOvnPool(req.PoolID)
      ? this.ovn.releasePool(req)
      : this.local.releasePool(req);
  }
  requestAddress(req: Parameters<IpamDriverApi['requestAddress']>[0]) {
    return this.ovn && OvnDriver.isOvnPool(req.PoolID)
      ? this.ovn.requestAddress(req)
      : this.local.requestAddress(req);
  }
  releaseAddress(req: { PoolID: string; Address: string }) {
    return this.ovn && OvnDriver.isOvnPool(req.PoolID)
      ? this.ovn.releaseAddress(req)
      : this.local.releaseAddress(req);
  }
}
