// Builders for client SyncML messages used by the machine and session tests.
import type { SyncMlCommand, SyncMlMessage } from '../../src/codec/syncml/types.js';

export const SERVER_URL = 'https://mdm.example.test/ManagementServer/MDM.svc';

export function clientMessage(
  deviceId: string,
  sessionId: string,
  msgId: number,
  commands: SyncMlCommand[],
  final = true,
  extra: Partial<SyncMlMessage['header']> = {},
): SyncMlMessage {
  return {
    header: {
      verDtd: '1.2',
      verProto: 'DM/1.2',
      sessionId,
      msgId,
      target: SERVER_URL,
      source: deviceId,
      ...extra,
    },
    commands,
    final,
  };
}

export function package1(deviceId: string, extra: SyncMlCommand[] = []): SyncMlCommand[] {
  return [
    { kind: 'Alert', cmdId: 2, data: '1201', items: [] },
    {
      kind: 'Alert',
      cmdId: 3,
      data: '1224',
      items: [{ meta: { type: 'com.microsoft/MDM/LoginStatus' }, data: 'user' }],
    },
    ...extra,
    {
      kind: 'Replace',
      cmdId: 4 + extra.length,
      items: [
        { source: './DevInfo/DevId', data: deviceId },
        { source: './DevInfo/Man', data: 'VMware, Inc.' },
      ],
    },
  ];
}

export function status(
  cmdId: number,
  msgRef: number,
  cmdRef: number,
  cmd: string,
  data: number | string,
): SyncMlCommand {
  return { kind: 'Status', cmdId, msgRef, cmdRef, cmd, data: String(data) };
}
