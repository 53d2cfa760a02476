// WNS push state per device (table: device_push). The channel URI and the device's own push status
// are inventory (the DMClient CSP's `Push/ChannelURI` and `Push/Status`, read in every session);
// this store keeps what the server did with them: the last push and its answer, a channel WNS
// called gone or the server refused, a coalesced push still due, and the session that followed.
// https://learn.microsoft.com/windows/client-management/mdm/dmclient-csp

/** What became of one push attempt. */
export const PUSH_RESULTS = [
  'ok', // 200: WNS accepted the notification
  'unauthorized', // 401 even with a fresh token
  'forbidden', // 403: the token is not for this channel's app
  'not_found', // 404: WNS does not know the channel
  'not_acceptable', // 406: throttled
  'gone', // 410: the channel expired; wait for the device to report a new one
  'too_large', // 413
  'http_error', // any other HTTP answer
  'network', // no answer (connection refused, reset, timeout, TLS)
  'token_failed', // the token endpoint gave no token
  'refused', // the channel URI is not an allowed WNS URL: nothing was sent
] as const;
export type PushResult = (typeof PUSH_RESULTS)[number];

export interface PushRecord {
  readonly deviceId: string;
  /** A coalesced push waits until then (ISO-8601). */
  readonly dueAt: string | null;
  /** Last time a send slot was taken (coalescing window start). */
  readonly requestedAt: string | null;
  readonly lastSentAt: string | null;
  readonly lastChannelUri: string | null;
  readonly lastResult: PushResult | null;
  readonly lastHttpStatus: number | null;
  readonly lastError: string | null;
  /** WNS answered 410 for this channel: no push to it until the device reports another. */
  readonly goneChannelUri: string | null;
  /** The server refused to call this channel URI (not HTTPS, host not allowed, internal address). */
  readonly refusedChannelUri: string | null;
  readonly pushes: number;
  /** The first session the device opened after the last accepted push. */
  readonly followedSessionId: string | null;
  readonly followedAt: string | null;
  /** That session's `UserAgentOrigin` (MS-MDM 3.1.7.2; 3 = WNS push), when the device sent one. */
  readonly followedOrigin: string | null;
}

/** The LocURIs the channel and the device's push status are reported under. */
export interface PushNodes {
  readonly channelUri: string;
  readonly status: string;
}

export interface DevicePushRow {
  readonly deviceId: string;
  readonly deviceStatus: string;
  /** Latest reported `Push/ChannelURI` and when. */
  readonly channelUri: string | null;
  readonly channelReportedAt: string | null;
  /** Latest reported `Push/Status` (0 success … 8 unknown error, DMClient CSP). */
  readonly deviceStatusCode: string | null;
  readonly push?: PushRecord;
}

export interface PushAttempt {
  readonly at: string;
  readonly channelUri: string | null;
  readonly result: PushResult;
  readonly httpStatus?: number;
  readonly error?: string;
}

export interface PushStore {
  get(deviceId: string): Promise<PushRecord | undefined>;
  /** Every device (or the given ones) with its reported channel and push record, by device id. */
  report(nodes: PushNodes, deviceIds?: readonly string[]): Promise<DevicePushRow[]>;
  /**
   * Coalescing (at most one push per device per `windowMs`): takes the send slot when the last one
   * is older than the window (`sendNow`), otherwise leaves one push due when the window ends.
   */
  request(deviceId: string, at: string, windowMs: number): Promise<{ sendNow: boolean; dueAt?: string }>;
  /** Devices whose coalesced push is due at `at`; each is handed to one caller only. */
  claimDue(at: string, limit: number): Promise<string[]>;
  /**
   * A push is about to go out (before the HTTP request: the device may wake before WNS answers):
   * sets the last push time and channel and counts it; its answer follows with `record`.
   */
  markSending(deviceId: string, at: string, channelUri: string): Promise<void>;
  /** What WNS (or the channel check) answered; `at` is the time given to `markSending`. */
  record(deviceId: string, attempt: PushAttempt): Promise<void>;
  /**
   * A session opened: when a push was sent (and not refused by WNS) since the last followed one, remember this session
   * as the one that followed it; returns when that push was sent.
   */
  markFollowed(
    deviceId: string,
    session: { readonly sessionId: string; readonly at: string; readonly origin?: string },
  ): Promise<{ sentAt: string } | undefined>;
}
