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
}

export function pushNodes(providerId: string): PushNodePaths {
  const base = `./Vendor/MSFT/DMClient/Provider/${providerId}/Push`;
  return { base, pfn: `${base}/PFN`, channelUri: `${base}/ChannelURI`, status: `${base}/Status` };
}

/** Tag of the queued command that sets the PFN (one at a time per device). */
export const PUSH_PFN_TAG = 'push:pfn';

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
