// The Docker plugin API, in one place: TypeBox schemas of every request and reply (moby pkg/plugins,
// libnetwork/drivers/remote/api, libnetwork/ipams/remote/api), and each one's type derived from its schema
// (`Static`), so the HTTP layer's validation and the core's types cannot drift apart. No Fastify here. Go's encoding/json sends `null` for nil
// maps and slices and omits nothing else, so optional collections accept null. Unknown fields are allowed
// in requests (newer daemons add some) and stripped from replies by the serializer.
import { type Static, Type } from 'typebox';

const Nullable = <T extends Type.TSchema>(t: T) => Type.Union([t, Type.Null()]);
const AnyMap = Nullable(Type.Record(Type.String(), Type.Unknown()));
const StringMap = Nullable(Type.Record(Type.String(), Type.String()));
const Id = Type.String({ minLength: 1, maxLength: 256 });

export const ErrReply = Type.Object({ Err: Type.String() });
export const Empty = Type.Object({});

export const ActivateReply = Type.Object({ Implements: Type.Array(Type.String()) });

export const NetworkCapabilitiesReply = Type.Object({
  Scope: Type.String(),
  ConnectivityScope: Type.String(),
});

export const IpamData = Type.Object({
  AddressSpace: Type.Optional(Type.String()),
  Pool: Type.String(),
  Gateway: Type.Optional(Type.String()),
  AuxAddresses: Type.Optional(StringMap),
});

export const CreateNetworkRequest = Type.Object({
  NetworkID: Id,
  Options: Type.Optional(AnyMap),
  IPv4Data: Type.Optional(Nullable(Type.Array(IpamData))),
  IPv6Data: Type.Optional(Nullable(Type.Array(IpamData))),
});

export const NetworkRequest = Type.Object({ NetworkID: Id });

export const EndpointInterface = Type.Object({
  Address: Type.Optional(Type.String()),
  AddressIPv6: Type.Optional(Type.String()),
  MacAddress: Type.Optional(Type.String()),
});

export const CreateEndpointRequest = Type.Object({
  NetworkID: Id,
  EndpointID: Id,
  Interface: Type.Optional(Nullable(EndpointInterface)),
  Options: Type.Optional(AnyMap),
});

export const CreateEndpointReply = Type.Object({ Interface: Type.Optional(EndpointInterface) });

export const EndpointRequest = Type.Object({ NetworkID: Id, EndpointID: Id });
/** `/Ocn.SetRateLimit` (not a Docker call): the endpoint and its new `rate.*`/`burst.*`/`dscp` options. */
export const SetRateLimitRequest = Type.Object({
  NetworkID: Id,
  EndpointID: Id,
  Options: Type.Record(Type.String(), Type.String()),
});
export const SetRateLimitReply = Type.Record(Type.String(), Type.Unknown());

export const OperInfoReply = Type.Object({ Value: Type.Record(Type.String(), Type.Unknown()) });

export const JoinRequest = Type.Object({
  NetworkID: Id,
  EndpointID: Id,
  SandboxKey: Type.String(),
  Options: Type.Optional(AnyMap),
});

export const StaticRoute = Type.Object({
  Destination: Type.String(),
  RouteType: Type.Integer(),
  NextHop: Type.Optional(Type.String()),
});

export const JoinReply = Type.Object({
  InterfaceName: Type.Object({ SrcName: Type.String(), DstPrefix: Type.String() }),
  Gateway: Type.Optional(Type.String()),
  GatewayIPv6: Type.Optional(Type.String()),
  StaticRoutes: Type.Optional(Type.Array(StaticRoute)),
  DisableGatewayService: Type.Optional(Type.Boolean()),
});

/** ProgramExternalConnectivity, RevokeExternalConnectivity, DiscoverNew, DiscoverDelete: accepted, no-op. */
export const AnyRequest = Type.Record(Type.String(), Type.Unknown());

export const IpamCapabilitiesReply = Type.Object({
  RequiresMACAddress: Type.Boolean(),
  RequiresRequestReplay: Type.Boolean(),
});

export const AddressSpacesReply = Type.Object({
  LocalDefaultAddressSpace: Type.String(),
  GlobalDefaultAddressSpace: Type.String(),
});

export const RequestPoolRequest = Type.Object({
  AddressSpace: Type.Optional(Type.String()),
  Pool: Type.Optional(Type.String()),
  SubPool: Type.Optional(Type.String()),
  Options: Type.Optional(StringMap),
  V6: Type.Optional(Type.Boolean()),
});

export const RequestPoolReply = Type.Object({
  PoolID: Type.String(),
  Pool: Type.String(),
  Data: Type.Record(Type.String(), Type.String()),
});

export const ReleasePoolRequest = Type.Object({ PoolID: Type.String({ minLength: 1 }) });

export const RequestAddressRequest = Type.Object({
  PoolID: Type.String({ minLength: 1 }),
  Address: Type.Optional(Type.String()),
  Options: Type.Optional(StringMap),
});

export const RequestAddressReply = Type.Object({
  Address: Type.String(),
  Data: Type.Record(Type.String(), Type.String()),
});

export const ReleaseAddressRequest = Type.Object({
  PoolID: Type.String({ minLength: 1 }),
  Address: Type.String({ minLength: 1 }),
});

// ---- the types, derived from the schemas -------------------------------------------------------------

export type IpamData = Static<typeof IpamData>;
export type CreateNetworkRequest = Static<typeof CreateNetworkRequest>;
export type EndpointInterface = Static<typeof EndpointInterface>;
export type CreateEndpointRequest = Static<typeof CreateEndpointRequest>;
/** Only the fields the request left empty (moby rolls back when a given field is echoed or changed). */
export type CreateEndpointResponse = Static<typeof CreateEndpointReply>;
export type EndpointRef = Static<typeof EndpointRequest>;
export type JoinRequest = Static<typeof JoinRequest>;
/** RouteType 0 = next hop, 1 = connected (moby libnetwork/types). */
export type StaticRoute = Static<typeof StaticRoute>;
export type JoinResponse = Static<typeof JoinReply>;
export type RequestPoolInput = Static<typeof RequestPoolRequest>;
export type RequestPoolResponse = Static<typeof RequestPoolReply>;
export type RequestAddressInput = Static<typeof RequestAddressRequest>;
export type RequestAddressResponse = Static<typeof RequestAddressReply>;
