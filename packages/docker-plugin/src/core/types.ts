// What the core offers the HTTP layer (the Docker network and IPAM driver operations) and what it needs
// from its host (a logger). The request and reply types live in api.ts (derived from the TypeBox schemas
// the HTTP layer validates with).
import type {
  CreateEndpointRequest,
  CreateEndpointResponse,
  CreateNetworkRequest,
  EndpointRef,
  JoinRequest,
  JoinResponse,
  RequestAddressInput,
  RequestAddressResponse,
  RequestPoolInput,
  RequestPoolResponse,
} from './api.js';

/** The network driver operations the HTTP layer calls; implemented by `OvsNetworkDriver`. */
export interface NetworkDriverApi {
  createNetwork(req: CreateNetworkRequest): Promise<void>;
  deleteNetwork(req: { NetworkID: string }): Promise<void>;
  createEndpoint(req: CreateEndpointRequest): Promise<CreateEndpointResponse>;
  deleteEndpoint(req: EndpointRef): Promise<void>;
  join(req: JoinRequest): Promise<JoinResponse>;
  leave(req: EndpointRef): Promise<void>;
  endpointOperInfo(req: EndpointRef): Promise<Record<string, unknown>>;
  /**
   * Not a Docker call: the plugin socket's `/Ocn.SetRateLimit` (Docker has no endpoint-update API).
   * Changes a running endpoint's `rate.*`/`burst.*` (and in OVN mode `dscp`) options.
   */
  setEndpointQos?(req: SetEndpointQosRequest): Promise<Record<string, unknown>>;
}

export interface SetEndpointQosRequest {
  NetworkID: string;
  EndpointID: string;
  Options: Record<string, unknown>;
}

export interface IpamDriverApi {
  /** GetCapabilities' RequiresMACAddress: Docker then sends the endpoint's MAC in RequestAddress (DHCP mode). */
  readonly requiresMacAddress?: boolean;
  requestPool(req: RequestPoolInput): Promise<RequestPoolResponse>;
  releasePool(req: { PoolID: string }): Promise<void>;
  requestAddress(req: RequestAddressInput): Promise<RequestAddressResponse>;
  releaseAddress(req: { PoolID: string; Address: string }): Promise<void>;
}

/** Counters the metrics endpoint exports. */
export interface DriverStats {
  networks: number;
  endpoints: number;
  ovsdbConnected: boolean;
}

/** A pino-compatible logger (the core never imports pino itself). */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
