// The Docker remote network driver and IPAM driver API as plain types (moby libnetwork/drivers/remote/api,
// libnetwork/ipams/remote/api). Field names are Go's, verbatim. Docker sends `null` for empty maps/slices.

export interface IpamData {
  AddressSpace?: string;
  /** CIDR of the subnet. */
  Pool: string;
  /** Gateway in CIDR form ("10.0.0.1/24"). */
  Gateway?: string;
  AuxAddresses?: Record<string, string> | null;
}

export interface CreateNetworkRequest {
  NetworkID: string;
  Options?: Record<string, unknown> | null;
  IPv4Data?: IpamData[] | null;
  IPv6Data?: IpamData[] | null;
}

export interface EndpointInterface {
  Address?: string;
  AddressIPv6?: string;
  MacAddress?: string;
}

export interface CreateEndpointRequest {
  NetworkID: string;
  EndpointID: string;
  Interface?: EndpointInterface | null;
  Options?: Record<string, unknown> | null;
}

export interface CreateEndpointResponse {
  /** Only the fields the request left empty (moby rolls back when a given field is echoed or changed). */
  Interface?: EndpointInterface;
}

export interface JoinRequest {
  NetworkID: string;
  EndpointID: string;
  SandboxKey: string;
  Options?: Record<string, unknown> | null;
}

export interface StaticRoute {
  Destination: string;
  /** 0 = next hop, 1 = connected (moby libnetwork/types). */
  RouteType: number;
  NextHop?: string;
}

export interface JoinResponse {
  InterfaceName: { SrcName: string; DstPrefix: string };
  Gateway?: string;
  GatewayIPv6?: string;
  StaticRoutes?: StaticRoute[];
  DisableGatewayService?: boolean;
}

export interface EndpointRef {
  NetworkID: string;
  EndpointID: string;
}

/** The network driver operations the HTTP layer calls; implemented by `OvsNetworkDriver`. */
export interface NetworkDriverApi {
  createNetwork(req: CreateNetworkRequest): Promise<void>;
  deleteNetwork(req: { NetworkID: string }): Promise<void>;
  createEndpoint(req: CreateEndpointRequest): Promise<CreateEndpointResponse>;
  deleteEndpoint(req: EndpointRef): Promise<void>;
  join(req: JoinRequest): Promise<JoinResponse>;
  leave(req: EndpointRef): Promise<void>;
  endpointOperInfo(req: EndpointRef): Promise<Record<string, unknown>>;
}

export interface IpamDriverApi {
  /** GetCapabilities' RequiresMACAddress: Docker then sends the endpoint's MAC in RequestAddress (DHCP mode). */
  readonly requiresMacAddress?: boolean;
  requestPool(req: {
    AddressSpace?: string | undefined;
    Pool?: string | undefined;
    SubPool?: string | undefined;
    Options?: Record<string, string> | null | undefined;
    V6?: boolean | undefined;
  }): Promise<{ PoolID: string; Pool: string; Data: Record<string, string> }>;
  releasePool(req: { PoolID: string }): Promise<void>;
  requestAddress(req: {
    PoolID: string;
    Address?: string | undefined;
    Options?: Record<string, string> | null | undefined;
  }): Promise<{ Address: string; Data: Record<string, string> }>;
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
