// Push state per device, as `mdm devices show` and the admin API report it. Reads only storage.
import type { Config } from '../config.js';
import { PUSH_STATUS_TEXT, pushNodes } from '../dm/push-nodes.js';
import type { DevicePushRow, PushResult, PushStore } from '../storage/push.js';

export type PushState = 'not_configured' | 'no_channel' | 'ok' | 'failing';

export interface DevicePushReport {
  readonly deviceId: string;
  readonly enrolled: boolean;
  /** not_configured (server push off), no_channel (none reported yet, or only a gone one), ok, failing. */
  readonly state: PushState;
  readonly channelUri: string | null;
  readonly channelReportedAt: string | null;
  /** The device's own `Push/Status` and its meaning (DMClient CSP). */
  readonly deviceStatus: { readonly code: string; readonly text: string } | null;
  readonly lastPush: {
    readonly sentAt: string | null;
    /** `sending`: the request is out, WNS has not answered yet. */
    readonly result: PushResult | 'sending';
    readonly httpStatus: number | null;
    readonly error: string | null;
    readonly channelUri: string | null;
  } | null;
  readonly pushes: number;
  /** A coalesced push waiting for its turn. */
  readonly dueAt: string | null;
  /** The session the device opened after the last accepted push. */
  readonly followedBy: {
    readonly sessionId: string;
    readonly at: string;
    /** `UserAgentOrigin` of that session (MS-MDM 3.1.7.2), when the device sent it. */
    readonly userAgentOrigin: string | null;
    /** true: the device said the push started it (UserAgentOrigin 3); null: it did not say. */
    readonly pushed: boolean | null;
    readonly secondsAfterPush: number | null;
  } | null;
}

export function pushStateOf(row: DevicePushRow, enabled: boolean): DevicePushReport {
  const p = row.push;
  const channel = row.channelUri && row.channelUri.trim() !== '' ? row.channelUri : null;
  let state: PushState;
  if (!enabled) state = 'not_configured';
  else if (!channel) state = 'no_channel';
  else if (p?.goneChannelUri === channel || p?.refusedChannelUri === channel) state = 'failing';
  else if (p?.lastResult && p.lastResult !== 'ok' && p.lastChannelUri === channel) state = 'failing';
  else state = 'ok';
  const origin = p?.followedOrigin ?? null;
  const firstOrigin = origin?.split(',')[0]?.trim() ?? null;
  return {
    deviceId: row.deviceId,
    enrolled: row.deviceStatus === 'enrolled',
    state,
    channelUri: channel,
    channelReportedAt: channel ? row.channelReportedAt : null,
    deviceStatus:
      row.deviceStatusCode === null
        ? null
        : { code: row.deviceStatusCode, text: PUSH_STATUS_TEXT[row.deviceStatusCode.trim()] ?? 'unknown' },
    lastPush:
      p?.lastResult || p?.lastSentAt
        ? {
            sentAt: p.lastSentAt,
            result: p.lastResult ?? 'sending',
            httpStatus: p.lastHttpStatus,
            error: p.lastError,
            channelUri: p.lastChannelUri,
          }
        : null,
    pushes: p?.pushes ?? 0,
    dueAt: p?.dueAt ?? null,
    followedBy:
      p?.followedSessionId && p.followedAt && (!p.lastSentAt || p.followedAt >= p.lastSentAt)
        ? {
            sessionId: p.followedSessionId,
            at: p.followedAt,
            userAgentOrigin: origin,
            pushed: firstOrigin === null ? null : firstOrigin === '3',
            secondsAfterPush: p.lastSentAt
              ? Math.max(0, (Date.parse(p.followedAt) - Date.parse(p.lastSentAt)) / 1000)
              : null,
          }
        : null,
  };
}

/** Push state of every device (or the given ones): one query. */
export async function devicePushReport(
  storage: { readonly push: PushStore },
  config: Pick<Config, 'providerId' | 'wnsPfn' | 'wnsClientId' | 'wnsClientSecret'>,
  deviceIds?: readonly string[],
): Promise<DevicePushReport[]> {
  const rows = await storage.push.report(pushNodes(config.providerId), deviceIds);
  const enabled = Boolean(config.wnsPfn && config.wnsClientId && config.wnsClientSecret);
  return rows.map((r) => pushStateOf(r, enabled));
}
