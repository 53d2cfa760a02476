// The virtual Windows device, for tests, replay, `mdm simulate` and load benchmarks.
//
//   const device = new VirtualDevice({ profile: makeProfile('pc-1'), catalog: defaultCatalog(), tls: { ca } });
//   await device.enroll('https://mdm.example.com', 'user@example.com', 'password');
//   const report = await device.checkIn();      // one full OMA-DM session
//   device.stats                                 // sessions, failures, messages, outcomes by status
//
// A benchmark can enroll once and reuse identities: `device.identity` (certificate, key, account)
// goes into `adopt()` of a fresh device, or `snapshot()` / `VirtualDevice.restore()` carries the
// whole device (tree, session counter) across processes; `runFleet()` drives many devices.
export type { CommandOutcome, DeviceEffect } from './apply.js';
export { CLIENT_KINDS, type ClientKind } from './client.js';
export { type DeviceKey, generateDeviceKey } from './csr.js';
export {
  type DeviceIdentity,
  type DeviceSnapshot,
  type DeviceStats,
  type ExchangeListener,
  VirtualDevice,
  type VirtualDeviceOptions,
  type WnsRegistrar,
} from './device.js';
export { DmTree } from './dm-tree.js';
export { type EnrollResult, enroll } from './enroll.js';
export { EnrollmentRefused } from './enroll-messages.js';
export type { DriftRule, FaultPlan } from './faults.js';
export { type FleetOptions, type FleetSummary, formatFleetSummary, runFleet } from './fleet.js';
export { makeProfile, type SimulatedProfile } from './profile.js';
export type { ProvisionedAccount } from './provisioning.js';
export { runSession, type SessionReport } from './session.js';
export { ConnectionDropped, httpTransport, type TlsOptions, type Transport } from './transport.js';
export { federatedSignIn, SignInFailed } from './web-sign-in.js';
export { type WnsNotification, WnsStandIn, type WnsStandInOptions } from './wns.js';
