// The client-Alert handler returns what the Alert asks of the session (incoming.ts `AlertAnswer`);
// machine.ts applies it where the Alert stands in the message.
import { describe, expect, it } from 'vitest';
import { ALERT_TYPE } from '../../src/codec/syncml/codes.js';
import type { AlertCommand } from '../../src/codec/syncml/types.js';
import { onAlert } from '../../src/dm/incoming.js';

const alert = (data: string, items: AlertCommand['items'] = []): AlertCommand => ({
  kind: 'Alert',
  cmdId: 3,
  data,
  items,
});

describe('onAlert', () => {
  it('answers session, next-message and abort alerts with no events', () => {
    expect(onAlert(alert('1201'))).toEqual({ status: 200, events: [] });
    expect(onAlert(alert('1222'))).toEqual({ status: 200, events: [] });
    expect(onAlert(alert('1223'))).toEqual({ status: 200, events: [], abort: true });
    expect(onAlert(alert('1225'))).toEqual({ status: 200, events: [], endOfData: true });
    expect(onAlert(alert('x'))).toEqual({ status: 412, events: [] });
  });

  it('reports LoginStatus (even without a value), keep-alives nothing, and 1226 as unenroll', () => {
    const login = onAlert(alert('1224', [{ meta: { type: ALERT_TYPE.LOGIN_STATUS }, data: ' user ' }]));
    expect(login).toEqual({ status: 200, events: [], loginStatus: 'user' });
    const empty = onAlert(alert('1224', [{ meta: { type: ALERT_TYPE.LOGIN_STATUS } }]));
    expect('loginStatus' in empty && empty.loginStatus === undefined).toBe(true);
    expect(onAlert(alert('1224', [{ meta: { type: ALERT_TYPE.REQUEST_PENDING } }]))).toEqual({
      status: 200,
      events: [],
    });
    const bye = onAlert(alert('1226', [{ meta: { type: ALERT_TYPE.UNENROLL_USER_REQUEST }, data: 'x' }]));
    expect(bye).toEqual({
      status: 200,
      unenroll: true,
      events: [{ kind: 'event', alertCode: 1226, type: ALERT_TYPE.UNENROLL_USER_REQUEST, data: 'x' }],
    });
  });
});
