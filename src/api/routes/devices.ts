// Devices: the fleet list (filters, sort, keyset pages), one device with everything known about it,
// and the device actions (docs/api.md "Devices").
import type { DeviceAction } from '../../dm/actions.js';
import { hideCommandSecrets } from '../../dm/command-secrets.js';
import { appReport } from '../../reporting/apps.js';
import { deviceComplianceReport } from '../../reporting/compliance.js';
import { AdminCommandError, queueDeviceAction, renameDevice, retireDevice } from '../../services/devices.js';
import type { DeviceQuery, DeviceSortKey } from '../../storage/devices.js';
import type { Storage } from '../../storage/index.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { ApiProblem, notFound } from '../problem.js';
import { type RouteDef, route } from '../route.js';
import {
  ActionBody,
  ActionParams,
  ActionResult,
  DeviceComplianceDetail,
  DeviceDetail,
  DeviceIdParams,
  DeviceListItem,
  DeviceListQuery,
  page,
} from '../schemas.js';

type ListQuery = ReturnType<typeof DeviceListQuery.parse>;

const isCursor = (v: unknown): v is { k: string; d: string } =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as { k?: unknown }).k === 'string' &&
  typeof (v as { d?: unknown }).d === 'string';

/** The store query of a device list (filters only, for bulk commands, when `paging` is absent). */
export function deviceQuery(
  q: Omit<ListQuery, 'sort' | 'order' | 'limit' | 'cursor'> & Partial<ListQuery>,
  limit: number,
): DeviceQuery {
  const after = decodeCursor(q.cursor, isCursor);
  return {
    ...(q.status && { status: q.status }),
    ...(q.compliance && { compliance: q.compliance }),
    ...(q.user && { user: q.user }),
    ...(q.osVersion && { osVersion: q.osVersion }),
    ...(q.checkedInBefore && { checkedInBefore: new Date(q.checkedInBefore).toISOString() }),
    ...(q.checkedInAfter && { checkedInAfter: new Date(q.checkedInAfter).toISOString() }),
    ...(q.q && { search: q.q }),
    sort: q.sort ?? 'deviceId',
    order: q.order ?? 'asc',
    ...(after && { after: { key: after.k, deviceId: after.d } }),
    limit,
  };
}

const sortValue = (row: Record<string, unknown>, key: DeviceSortKey) => {
  const v = row[key];
  return typeof v === 'string' ? v : '';
};

async function deviceDetail(storage: Storage, deviceId: string) {
  const device = await storage.devices.getDevice(deviceId);
  if (!device) return undefined;
  const [checkIn, inventory, compliance, apps, pending, recent, events] = await Promise.all([
    storage.checkIns.get(deviceId),
    storage.inventory.list(deviceId),
    deviceComplianceReport(storage, deviceId),
    appReport(storage, { deviceId }),
    storage.commands.listForDevice(deviceId, { states: ['pending', 'sent'], limit: 500 }),
    storage.commands.listForDevice(deviceId, {
      states: ['done', 'failed', 'expired', 'cancelled'],
      limit: 20,
    }),
    storage.events.list(deviceId, 50),
  ]);
  const certificateProfiles = await storage.scep.listDeviceProfiles(deviceId);
  const withNodes = (list: typeof pending) =>
    Promise.all(
      list.map(async (c) => ({
        ...c,
        command: hideCommandSecrets(c.command),
        nodes: await storage.commands.listNodes(c.id),
      })),
    );
  const { settingDetails, ...summary } = compliance!;
  return {
    device,
    checkIn: checkIn ?? null,
    compliance: summary,
    inventory,
    settings: settingDetails,
    apps,
    pendingCommands: await withNodes(pending),
    recentCommands: await withNodes(recent),
    events,
    certificateProfiles,
  };
}

const QUEUED_ACTIONS: readonly string[] = ['lock', 'reboot', 'wipe', 'unenroll'];

export const deviceRoutes: RouteDef[] = [
  route({
    method: 'get',
    path: '/devices',
    tag: 'devices',
    role: 'auditor',
    summary: 'List devices with filters, sorting and cursor pagination',
    query: DeviceListQuery,
    csv: 'items',
    responses: { 200: { description: 'one page of devices', schema: page(DeviceListItem) } },
    handler: async ({ storage, query }) => {
      const rows = await storage.devices.queryDevices(deviceQuery(query, query.limit + 1));
      const items = rows.slice(0, query.limit);
      const last = items.at(-1);
      const nextCursor =
        rows.length > query.limit && last
          ? encodeCursor({
              k: sortValue(last as unknown as Record<string, unknown>, query.sort),
              d: last.deviceId,
            })
          : null;
      return { body: { items, nextCursor } };
    },
  }),
  route({
    method: 'get',
    path: '/devices/:id',
    tag: 'devices',
    role: 'auditor',
    summary:
      'One device: inventory, check-ins, settings and apps with their states, recent commands and events',
    params: DeviceIdParams,
    problems: [404],
    responses: { 200: { description: 'the device', schema: DeviceDetail } },
    handler: async ({ storage, params }) => {
      const detail = await deviceDetail(storage, params.id);
      if (!detail) throw notFound(`no device ${params.id}`);
      return { body: detail };
    },
  }),
  route({
    method: 'get',
    path: '/devices/:id/compliance',
    tag: 'compliance',
    role: 'auditor',
    summary: "One device's compliance with every setting",
    params: DeviceIdParams,
    problems: [404],
    csv: 'settingDetails',
    responses: { 200: { description: 'the compliance report', schema: DeviceComplianceDetail } },
    handler: async ({ storage, params }) => {
      const report = await deviceComplianceReport(storage, params.id);
      if (!report) throw notFound(`no device ${params.id}`);
      return { body: report };
    },
  }),
  route({
    method: 'post',
    path: '/devices/:id/actions/:action',
    tag: 'devices',
    role: 'operator',
    summary:
      'Device action: sync, lock, reboot, wipe (confirm = the DeviceID), unenroll, rename (name), retire (confirm = the DeviceID)',
    params: ActionParams,
    body: ActionBody,
    problems: [404, 409, 415],
    responses: {
      200: { description: 'done (rename, retire)', schema: ActionResult },
      202: { description: 'queued for the next session (or a check-in asked for)', schema: ActionResult },
    },
    handler: async ({ storage, params, body, actor, deps }) => {
      const { id, action } = params;
      const device = await storage.devices.getDevice(id);
      if (!device) throw notFound(`no device ${id}`);
      if ((action === 'wipe' || action === 'retire') && body.confirm !== id) {
        throw new ApiProblem(400, `${action} needs "confirm": the DeviceID, to confirm`, {
          errors: [{ in: 'body', path: 'confirm', message: 'must equal the DeviceID' }],
        });
      }
      if (QUEUED_ACTIONS.includes(action)) {
        try {
          const commandId = await queueDeviceAction(
            storage,
            { deviceId: id, action: action as DeviceAction, actor },
            deps.push ? { push: deps.push } : {},
          );
          return { status: 202, body: { action, deviceId: id, commandId } };
        } catch (err) {
          if (err instanceof AdminCommandError) throw new ApiProblem(409, err.message);
          throw err;
        }
      }
      if (action === 'rename') {
        if (body.name === undefined)
          throw new ApiProblem(400, 'rename needs "name"', {
            errors: [{ in: 'body', path: 'name', message: 'required' }],
          });
        await renameDevice(storage, { deviceId: id, name: body.name, actor });
        return { body: { action, deviceId: id, name: body.name } };
      }
      if (action === 'retire') {
        const r = await retireDevice(storage, {
          deviceId: id,
          actor,
          ...(deps.events && { events: deps.events }),
        });
        return { body: { action, deviceId: id, cancelledCommands: r!.cancelledCommands } };
      }
      if (device.status !== 'enrolled') throw new ApiProblem(409, `device ${id} is not enrolled`);
      // sync: a WNS push asks the device for a session now (MS-MDM 2.2.1 server-initiated session).
      if (deps.push?.enabled) {
        const [outcome] = await deps.push.syncDevices([id], { actor });
        return {
          status: 202,
          body: {
            action,
            deviceId: id,
            push: outcome!.result,
            ...(outcome!.error !== undefined && { detail: outcome!.error }),
          },
        };
      }
      await storage.audit.record({
        actor,
        action: 'devices.sync',
        deviceId: id,
        details: { push: 'unavailable' },
      });
      return {
        status: 202,
        body: {
          action,
          deviceId: id,
          push: 'unavailable',
          detail:
            'no push channel is configured; queued work is sent at the device’s next scheduled check-in',
        },
      };
    },
  }),
];
