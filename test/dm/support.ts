// A real in-memory SQLite storage with one enrolled device, and the session service over it.

import { SYNCML_NS } from '../../src/codec/syncml/codes.js';
import { encodeCommand } from '../../src/codec/syncml/encode.js';
import type { SyncMlMessage } from '../../src/codec/syncml/types.js';
import type { PresentedIdentity } from '../../src/dm/auth.js';
import type { DmHooks } from '../../src/dm/hooks.js';
import { createDmSessionService, type DmSessionService } from '../../src/dm/session.js';
import { silentLogger } from '../../src/logger.js';
import type { CommandOrigin, DmCommand } from '../../src/shared/dm-command.js';
import type { NewEnrollment } from '../../src/storage/devices.js';
import type { Storage } from '../../src/storage/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/index.js';
import { SERVER_URL } from './helpers.js';

export const DIGEST = {
  name: 'DEVUSER',
  secret: 'device-secret',
  nonce: Buffer.from('first-nonce').toString('base64'),
};

export function enrollment(deviceId: string, serial: string): NewEnrollment {
  return {
    enrollmentId: `enr-${serial}`,
    deviceId,
    hwDevId: `HW-${deviceId}`,
    name: 'DESKTOP-1',
    osEdition: '72',
    osVersion: '10.0.19043.2364',
    deviceType: 'CIMClient_Windows',
    locale: 'en-US',
    macs: [],
    enrollmentType: 'Full',
    authPolicy: 'OnPremise',
    userUpn: 'demo@example.com',
    providerId: 'OpenWindowsMDM',
    enrolledAt: '2026-01-01T00:00:00.000Z',
    digest: { appSrv: DIGEST, client: { secret: 'server-secret', nonce: 'c2VydmVy' } },
    certificate: {
      serial,
      thumbprint: `T${serial}`,
      notBefore: '2026-01-01T00:00:00.000Z',
      notAfter: '2027-01-01T00:00:00.000Z',
      der: Buffer.from([1, 2, 3]),
    },
  };
}

export interface Harness {
  storage: Storage;
  service: DmSessionService;
  enqueue(
    deviceId: string,
    command: DmCommand,
    extra?: { origin?: CommandOrigin; tag?: string },
  ): Promise<string>;
  close(): Promise<void>;
}

export async function harness(
  options: {
    hooks?: DmHooks;
    inventoryNodes?: string[];
    canReplace?: (p: string) => boolean;
    now?: () => Date;
  } = {},
): Promise<Harness> {
  const storage = openSqliteStorage({ file: ':memory:' });
  await storage.devices.recordEnrollment(enrollment('1E08C6E95D8BB843B1278FF45BC60CC6', 'AA01'));
  await storage.devices.recordEnrollment(enrollment('B5B954E81FBCB94EB79BD08BE625F4EE', 'BB02'));
  const service = createDmSessionService({
    storage,
    logger: silentLogger(),
    config: {
      commandMaxAttempts: 2,
      inventoryIntervalMinutes: 60,
      inventoryNodes: options.inventoryNodes ?? [],
      maxBodyBytes: 1024 * 1024,
      managementUrl: SERVER_URL,
    },
    ...(options.hooks && { hooks: options.hooks }),
    ...(options.canReplace && { canReplace: options.canReplace }),
    ...(options.now && { now: options.now }),
  });
  return {
    storage,
    service,
    enqueue: (deviceId, command, extra = {}) =>
      storage.commands.enqueue({
        deviceId,
        command,
        origin: extra.origin ?? 'admin',
        ...(extra.tag && { tag: extra.tag }),
      }),
    close: () => storage.close(),
  };
}

export const certOf = (deviceId: string, serial: string): PresentedIdentity => ({
  kind: 'certificate',
  deviceId,
  serial,
});

/** Client side of the codec, for tests: write a client message as Windows would (compact XML). */
export function encodeClient(msg: SyncMlMessage): string {
  const h = msg.header;
  let cred = '';
  if (h.cred) {
    cred = `<Cred><Meta><Format xmlns="syncml:metinf">b64</Format><Type xmlns="syncml:metinf">${h.cred.type}</Type></Meta><Data>${h.cred.data}</Data></Cred>`;
  }
  const meta = h.maxMsgSize
    ? `<Meta><MaxMsgSize xmlns="syncml:metinf">${h.maxMsgSize}</MaxMsgSize></Meta>`
    : '';
  const name = h.sourceName ? `<LocName>${h.sourceName}</LocName>` : '';
  return (
    `<SyncML xmlns="${SYNCML_NS}"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>${h.sessionId}</SessionID>` +
    `<MsgID>${h.msgId}</MsgID><Target><LocURI>${h.target}</LocURI></Target><Source><LocURI>${h.source}</LocURI>${name}</Source>` +
    `${cred}${meta}</SyncHdr><SyncBody>${msg.commands.map(encodeCommand).join('')}${msg.final ? '<Final/>' : ''}</SyncBody></SyncML>`
  );
}
