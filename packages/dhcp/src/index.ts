// Public surface of @ovs-container-network/dhcp: a DHCPv4 client acting for an endpoint's MAC inside any
// network namespace — the codec (pure), the lease state machine (pure), and the I/O on a packet socket.

export {
  type AcquireOptions,
  acquire,
  type ClientOptions,
  DEFAULT_TIMEOUT_MS,
  release,
  renew,
  type Where,
} from './client.js';
export {
  DhcpError,
  type DhcpErrorCode,
  DhcpInvalidArgumentError,
  DhcpMalformedError,
  DhcpNakError,
  DhcpNoAnswerError,
  type ExchangeContext,
} from './errors.js';
export {
  type ArpPacket,
  buildArpProbe,
  buildArpReply,
  buildUdpFrame,
  internetChecksum,
  parseArp,
  parseUdpFrame,
  type UdpDatagram,
  type UdpFrameInit,
} from './frame.js';
export { type KeeperEvents, LeaseKeeper, type LeaseKeeperOptions, type WhereSource } from './keeper.js';
export {
  LEASE_INFINITE,
  type Lease,
  leaseTimes,
  parseLease,
  prefixLength,
  serializeLease,
  validateLease,
} from './lease.js';
export {
  type Action,
  type ClientState,
  DEFAULT_TIMING,
  type Destination,
  DhcpClientMachine,
  type MachineOptions,
  type Origin,
  PARAMETER_REQUEST_LIST,
  type Timing,
} from './machine.js';
export {
  BOOTP_MIN_BYTES,
  type BootpOp,
  type DhcpMessage,
  type DhcpMessageInit,
  decodeMessage,
  encodeMessage,
  MAGIC_COOKIE,
} from './message.js';
export {
  clientIdFromMac,
  type DhcpOptions,
  encodeOptions,
  MESSAGE_TYPES,
  type MessageType,
  Option,
  rfc4361ClientId,
} from './options.js';
