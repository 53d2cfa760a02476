// Immediate sync over WNS push (Microsoft, "Push notification support for device management",
// https://learn.microsoft.com/windows/client-management/push-notification-windows-mdm): the
// device wakes and starts an ordinary OMA-DM session, which carries whatever is queued for it.
// Pushes are coalesced to at most one per device per `COALESCE_MS`: a request inside the window
// leaves one push due when the window ends (sent by the server's due timer), so a change still
// reaches an online device within seconds. Push is an accelerator only: a device that cannot be
// pushed picks its commands up at its next poll.
import { readFileSync } from 'node:fs';
import type { Config } from '../config.js';
import { pushNodes } from '../dm/push-nodes.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/index.js';
import type { PushResult } from '../storage/push.js';
import { checkChannelUri, parseHostPatterns } from './channel.js';
import { type DevicePushReport, devicePushReport } from './report.js';
import { WnsClient } from './wns.js';

export const COALESCE_MS = 30_000;

/** What `syncDevices` did for one device. */
export interface SyncOutcome {
  readonly deviceId: string;
  /**
   * sent (WNS accepted it), coalesced (a push went out less than 30 s ago; one more is due at
   * `dueAt`), failed (WNS or the network said no: `pushResult`, `httpStatus`, `error`), refused (the
   * channel URI is not an allowed WNS URL), no_channel, channel_gone (WNS answered 410 for the
   * device's channel; it has not reported a new one), not_configured (push is off), unknown_device,
   * not_enrolled.
   */
  readonly result:
    | 'sent'
    | 'coalesced'
    | 'failed'
    | 'refused'
    | 'no_channel'
    | 'channel_gone'
    | 'not_configured'
    | 'unknown_device'
    | 'not_enrolled';
  readonly pushResult?: PushResult;
  readonly httpStatus?: number;
  readonly error?: string;
  readonly sentAt?: string;
  readonly dueAt?: string;
}

/** Counters of what the push service does (`/metrics`). */
export interface PushMetrics {
  pushed(result: PushResult): void;
  /** A session followed an accepted push after this many seconds. */
  sessionAfterPush(seconds: number, pushed: boolean | undefined): void;
}

export interface PushServiceOptions {
  readonly config: Pick<
    Config,
    'providerId' | 'wnsPfn' | 'wnsClientId' | 'wnsClientSecret' | 'wnsTokenUrl' | 'wnsChannelHosts'
  > & { readonly wnsCaFile?: string | undefined };
  readonly storage: Pick<Storage, 'push' | 'devices' | 'audit'>;
  readonly logger: Logger;
  readonly metrics?: PushMetrics;
  readonly now?: () => Date;
  /** How often the server looks for coalesced pushes that are due (default 1 s). */
  readonly dueCheckMs?: number;
  /** At most one push per device per this many ms (default `COALESCE_MS`). */
  readonly coalesceMs?: number;
}

export interface PushService {
  /** Push is configured (PFN, Package SID and secret). */
  readonly enabled: boolean;
  /**
   * `mdm devices sync` and the admin API's sync action: queues nothing, wakes each device with a
   * raw WNS notification (coalesced), records when it was sent and what WNS answered. With `actor`
   * the request is written to the audit log. Never throws for one device's failure.
   */
  syncDevices(deviceIds: readonly string[], options?: { readonly actor?: string }): Promise<SyncOutcome[]>;
  /** A command was queued or a policy revision reached these devices: wake them (coalesced, never throws). */
  notifyChanged(deviceIds: readonly string[], reason: string): Promise<void>;
  /** Push state per device (all devices when `deviceIds` is omitted). */
  report(deviceIds?: readonly string[]): Promise<DevicePushReport[]>;
  /** The server's timer that sends coalesced pushes when they are due (unref'd). */
  start(): void;
  stop(): Promise<void>;
}

export function pushEnabled(config: Pick<Config, 'wnsPfn' | 'wnsClientId' | 'wnsClientSecret'>): boolean {
  return Boolean(config.wnsPfn && config.wnsClientId && config.wnsClientSecret);
}

/** Runs `fn` over `items` with at most `limit` at a time, results in order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export function createPushService(options: PushServiceOptions): PushService {
  const { config, storage, logger } = options;
  const now = options.now ?? (() => new Date());
  const enabled = pushEnabled(config);
  const nodes = pushNodes(config.providerId);
  const patterns = parseHostPatterns(config.wnsChannelHosts);
  const wns = enabled
    ? new WnsClient({
        tokenUrl: config.wnsTokenUrl,
        clientId: config.wnsClientId!,
        clientSecret: config.wnsClientSecret!,
        ...(config.wnsCaFile && { ca: readFileSync(config.wnsCaFile, 'utf8') }),
      })
    : undefined;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  const inFlight = new Set<Promise<unknown>>();

  /** Checks the device and its channel; `slot` takes the coalescing slot before sending. */
  async function pushOne(deviceId: string, slot: boolean): Promise<SyncOutcome> {
    if (!wns) return { deviceId, result: 'not_configured' };
    const [row] = await storage.push.report(nodes, [deviceId]);
    if (!row) return { deviceId, result: 'unknown_device' };
    if (row.deviceStatus !== 'enrolled') return { deviceId, result: 'not_enrolled' };
    const channel = row.channelUri?.trim() ? row.channelUri.trim() : null;
    if (!channel) return { deviceId, result: 'no_channel' };
    if (row.push?.goneChannelUri === channel) return { deviceId, result: 'channel_gone' };
    const at = now().toISOString();
    const check = checkChannelUri(channel, patterns);
    if (!check.ok) {
      if (row.push?.refusedChannelUri !== channel) {
        // Once per channel: the device keeps reporting it at every session.
        logger.warn({ deviceId, reason: check.reason }, 'push refused: channel URI not allowed');
        await storage.push.record(deviceId, {
          at,
          channelUri: channel,
          result: 'refused',
          error: check.reason,
        });
        options.metrics?.pushed('refused');
      }
      return { deviceId, result: 'refused', pushResult: 'refused', error: check.reason };
    }
    if (slot) {
      const taken = await storage.push.request(deviceId, at, options.coalesceMs ?? COALESCE_MS);
      if (!taken.sendNow)
        return { deviceId, result: 'coalesced', ...(taken.dueAt && { dueAt: taken.dueAt }) };
    }
    const sentAt = now().toISOString();
    await storage.push.markSending(deviceId, sentAt, channel);
    const answer = await wns.notify(check);
    await storage.push.record(deviceId, {
      at: sentAt,
      channelUri: channel,
      result: answer.result,
      ...(answer.httpStatus !== undefined && { httpStatus: answer.httpStatus }),
      ...(answer.error !== undefined && { error: answer.error }),
    });
    options.metrics?.pushed(answer.result);
    if (answer.result !== 'ok')
      logger.warn(
        { deviceId, result: answer.result, httpStatus: answer.httpStatus, error: answer.error },
        'push not accepted',
      );
    else logger.debug({ deviceId }, 'push sent');
    return {
      deviceId,
      result: answer.result === 'ok' ? 'sent' : 'failed',
      pushResult: answer.result,
      ...(answer.httpStatus !== undefined && { httpStatus: answer.httpStatus }),
      ...(answer.error !== undefined && { error: answer.error }),
      sentAt,
    };
  }

  const track = <T>(p: Promise<T>): Promise<T> => {
    inFlight.add(p);
    return p.finally(() => inFlight.delete(p));
  };

  async function tick(): Promise<void> {
    const due = await storage.push.claimDue(now().toISOString(), 100);
    await mapLimit(due, 8, (id) => pushOne(id, false));
  }

  return {
    enabled,
    async syncDevices(deviceIds, opts = {}) {
      const ids = [...new Set(deviceIds)];
      const outcomes = await track(mapLimit(ids, 8, (id) => pushOne(id, true)));
      if (opts.actor !== undefined) {
        for (const o of outcomes) {
          if (o.result === 'unknown_device') continue;
          await storage.audit.record({
            actor: opts.actor,
            action: 'devices.sync',
            deviceId: o.deviceId,
            details: { result: o.result, ...(o.pushResult && { pushResult: o.pushResult }) },
          });
        }
      }
      return outcomes;
    },
    async notifyChanged(deviceIds, reason) {
      if (!enabled || deviceIds.length === 0) return;
      try {
        const outcomes = await track(mapLimit([...new Set(deviceIds)], 8, (id) => pushOne(id, true)));
        logger.debug(
          { reason, outcomes: outcomes.map((o) => `${o.deviceId}:${o.result}`) },
          'pushes for a change',
        );
      } catch (err) {
        logger.warn({ reason, err: (err as Error).message }, 'push for a change failed');
      }
    },
    report: (deviceIds) => devicePushReport(storage, config, deviceIds),
    start() {
      if (!enabled || timer) return;
      timer = setInterval(() => {
        if (ticking) return;
        ticking = track(tick())
          .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'due pushes failed'))
          .finally(() => {
            ticking = undefined;
          });
      }, options.dueCheckMs ?? 1000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await Promise.allSettled([...inFlight]);
    },
  };
}
