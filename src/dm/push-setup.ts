// What package 1 does for WNS push (DMClient CSP, https://learn.microsoft.com/windows/client-management/mdm/dmclient-csp;
// MS-MDM 3.1.7.2): registers the PFN with the device, reads the push nodes in every session, and
// records the session as the one that followed the last push. Runs only with `config.push`.
import type { QueuedCommand } from '../storage/commands.js';
import type { Storage } from '../storage/index.js';
import type { FollowUpCommand } from './hooks.js';
import { INVENTORY_PRIORITY } from './inventory.js';
import {
  PUSH_PFN_PRIORITY,
  PUSH_PFN_TAG,
  PUSH_SYNC_APPLICATION_VERSION,
  PUSH_VERSION_TAG,
  type PushNodePaths,
} from './push-nodes.js';
import { INVENTORY_ID } from './queue-plan.js';
import type { Exchange } from './session-load.js';

/** The push configuration of the service: the PFN and the DMClient nodes of its provider. */
export interface PushSetup {
  readonly pfn: string;
  readonly nodes: PushNodePaths;
}

/** Push → session time (`/metrics`). */
export interface PushMetrics {
  sessionAfterPush(seconds: number, pushed: boolean | undefined): void;
}

/** Every session reads the push nodes (channel URIs change; the latest is kept with its time). */
export function pushReads(nodes: PushNodePaths): QueuedCommand[] {
  return [nodes.pfn, nodes.channelUri, nodes.status].map((target, i) => ({
    id: `${INVENTORY_ID}push${i}`,
    command: { verb: 'Get', items: [{ target }] },
    origin: 'inventory' as const,
    attempts: 0,
    priority: INVENTORY_PRIORITY,
  }));
}

/**
 * The PFN the device registers with WNS for (DMClient CSP `Push/PFN`): added once, replaced when
 * the device reports another one, while no such command is already queued.
 */
export function pfnSetup(ex: Exchange, p: PushSetup): FollowUpCommand[] {
  const reported = ex.snapshot.pushPfn;
  if (reported !== undefined && reported.trim() === p.pfn) return [];
  const queued = [...ex.snapshot.pending, ...ex.snapshot.inFlight].some((q) => q.tag === PUSH_PFN_TAG);
  if (queued) return [];
  const first = reported === undefined || reported === '';
  const pfn: FollowUpCommand = {
    command: {
      verb: first ? 'Add' : 'Replace',
      items: [{ target: p.nodes.pfn, format: 'chr', data: p.pfn }],
    },
    origin: 'system',
    tag: PUSH_PFN_TAG,
    priority: PUSH_PFN_PRIORITY,
  };
  if (!first) return [pfn];
  // With the first PFN, the session version from which a pushed session says it was pushed.
  const version: FollowUpCommand = {
    command: {
      verb: 'Replace',
      items: [{ target: p.nodes.syncApplicationVersion, format: 'chr', data: PUSH_SYNC_APPLICATION_VERSION }],
    },
    origin: 'system',
    tag: PUSH_VERSION_TAG,
    priority: PUSH_PFN_PRIORITY,
  };
  return [pfn, version];
}

/**
 * A session after an accepted push: remembered as the one that followed it (one statement), with the
 * request's `UserAgentOrigin` (MS-MDM 3.1.7.2) when it is a list of codes.
 */
export async function followPush(
  tx: Storage,
  deviceId: string,
  sessionId: string,
  at: string,
  origin: string | undefined,
  metrics: PushMetrics | undefined,
): Promise<void> {
  const clean =
    origin !== undefined && /^\s*\d{1,3}(\s*,\s*\d{1,3})*\s*$/.test(origin)
      ? origin.replace(/\s/g, '')
      : undefined;
  const followed = await tx.push.markFollowed(deviceId, { sessionId, at, ...(clean && { origin: clean }) });
  if (followed && metrics) {
    const seconds = Math.max(0, (Date.parse(at) - Date.parse(followed.sentAt)) / 1000);
    metrics.sessionAfterPush(seconds, clean === undefined ? undefined : clean.split(',')[0] === '3');
  }
}
