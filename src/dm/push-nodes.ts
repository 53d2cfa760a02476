// The DMClient CSP's push nodes (https://learn.microsoft.com/windows/client-management/mdm/dmclient-csp):
// `Push/PFN` (the Package Family Name the device registers with WNS for; Add, Get, Replace),
// `Push/ChannelURI` (the channel WNS gave it; Get) and `Push/Status` (Get: 0 success, 1 invalid PFN,
// 2 invalid or expired device authentication with MSA, 3 WNS client registration failed, 4 no
// channel URI assigned, 5 channel URI expired, 6 channel URI failed to be revoked, 7 push
// notification received but the DM session could not be started, 8 unknown error).
import type { PushNodes } from '../storage/push.js';

export interface PushNodePaths extends PushNodes {
  readonly base: string;
  readonly pfn: string;
  /**
   * `Provider/{ProviderID}/SyncApplicationVersion`: from 4.0 the client says why it started a session
   * in a `UserAgentOrigin` header, 3 for a WNS push (MS-MDM 3.1.7.2; from 3.0 it adds
   * `msft:originalerror` to failure Statuses).
   */
  readonly syncApplicationVersion: string;
}

export function pushNodes(providerId: string): PushNodePaths {
  const base = `./Vendor/MSFT/DMClient/Provider/${providerId}/Push`;
  return {
    base,
    pfn: `${base}/PFN`,
    channelUri: `${base}/ChannelURI`,
    status: `${base}/Status`,
    syncApplicationVersion: `./Vendor/MSFT/DMClient/Provider/${providerId}/SyncApplicationVersion`,
  };
}

/** Tag of the queued command that sets the PFN (one at a time per device). */
export const PUSH_PFN_TAG = 'push:pfn';

/** Tag of the command that sets the session version with the first PFN, so pushed sessions say so. */
export const PUSH_VERSION_TAG = 'push:session-version';

/** The DM session version set with push: 4.0, the first that reports `UserAgentOrigin`. */
export const PUSH_SYNC_APPLICATION_VERSION = '4.0';

/** Before policy and inventory: the device registers with WNS while the session goes on. */
export const PUSH_PFN_PRIORITY = 20;

export const PUSH_STATUS_TEXT: Readonly<Record<string, string>> = {
  '0': 'success',
  '1': 'invalid PFN',
  '2': 'invalid or expired device authentication with MSA',
  '3': 'WNS client registration failed (invalid or revoked PFN)',
  '4': 'no channel URI assigned',
  '5': 'channel URI expired',
  '6': 'channel URI failed to be revoked',
  '7': 'push received, but the DM session could not start (power or connectivity)',
  '8': 'unknown error',
};
