// Commands in the queue's own shape (src/shared/dm-command.ts), checked as `mdm commands add`
// checks them (src/dm/actions.ts commandProblem) by the same service functions.

import { z } from 'zod';
import { hideCommandSecrets } from '../../dm/command-secrets.js';
import {
  AdminCommandError,
  cancelCommand,
  commandAction,
  queueAdminCommand,
  queueBulkCommand,
} from '../../services/commands.js';
import type { Storage } from '../../storage/index.js';
import { ApiProblem, notFound } from '../problem.js';
import { type RouteDef, route } from '../route.js';
import {
  BulkCommandRequest,
  BulkQueued,
  Command,
  CommandRequest,
  DeviceIdParams,
  Queued,
} from '../schemas.js';
import { deviceQuery } from './devices.js';

const CommandIdParams = z.strictObject({ id: z.string().min(1).max(128) });

/** Most devices one filter may select for a bulk command. */
const BULK_FILTER_LIMIT = 10_000;

async function commandWithNodes(storage: Storage, id: string) {
  const c = await storage.commands.get(id);
  return c && { ...c, command: hideCommandSecrets(c.command), nodes: await storage.commands.listNodes(id) };
}

function asProblem(err: unknown): never {
  if (err instanceof AdminCommandError) {
    const status = /^no device /.test(err.message) ? 404 : /not enrolled/.test(err.message) ? 409 : 400;
    throw new ApiProblem(status, err.message);
  }
  throw err;
}

export const commandRoutes: RouteDef[] = [
  route({
    method: 'post',
    path: '/devices/:id/commands',
    tag: 'commands',
    role: 'operator',
    summary: "Queue one command for a device's next session",
    params: DeviceIdParams,
    body: CommandRequest,
    problems: [404, 409, 415],
    responses: { 201: { description: 'queued', schema: Queued } },
    handler: async ({ storage, params, body, actor, deps }) => {
      const id = await queueAdminCommand(
        storage,
        {
          deviceId: params.id,
          command: body.command,
          actor,
          action: commandAction(body.command),
          ...(body.priority !== undefined && { priority: body.priority }),
          ...(body.tag !== undefined && { tag: body.tag }),
          ...(body.expiresAt !== undefined && { expiresAt: new Date(body.expiresAt).toISOString() }),
        },
        deps.push ? { push: deps.push } : {},
      ).catch(asProblem);
      return { status: 201, body: { id }, headers: { Location: `/api/v1/commands/${id}` } };
    },
  }),
  route({
    method: 'post',
    path: '/commands',
    tag: 'commands',
    role: 'operator',
    summary: 'Queue one command for many devices (a list of DeviceIDs or a device filter), all or nothing',
    body: BulkCommandRequest,
    problems: [409, 415],
    responses: { 201: { description: 'one command id per device', schema: BulkQueued } },
    handler: async ({ storage, body, actor }) => {
      let deviceIds = body.devices;
      if (!deviceIds) {
        const rows = await storage.devices.queryDevices(
          deviceQuery({ ...body.filter, status: 'enrolled' }, BULK_FILTER_LIMIT + 1),
        );
        if (rows.length > BULK_FILTER_LIMIT)
          throw new ApiProblem(400, `the filter selects more than ${BULK_FILTER_LIMIT} devices`);
        deviceIds = rows.map((r) => r.deviceId);
      }
      const commands = await queueBulkCommand(storage, { deviceIds, command: body.command, actor }).catch(
        asProblem,
      );
      return { status: 201, body: { commands } };
    },
  }),
  route({
    method: 'get',
    path: '/commands/:id',
    tag: 'commands',
    role: 'auditor',
    summary: 'A command with every node as sent, its status and results',
    params: CommandIdParams,
    problems: [404],
    responses: { 200: { description: 'the command', schema: Command } },
    handler: async ({ storage, params }) => {
      const c = await commandWithNodes(storage, params.id);
      if (!c) throw notFound(`no command ${params.id}`);
      return { body: c };
    },
  }),
  route({
    method: 'post',
    path: '/commands/:id/cancel',
    tag: 'commands',
    role: 'operator',
    summary: 'Cancel a command that is still pending',
    params: CommandIdParams,
    problems: [404, 409],
    responses: { 200: { description: 'cancelled', schema: Command } },
    handler: async ({ storage, params, actor }) => {
      const r = await cancelCommand(storage, { commandId: params.id, actor });
      if (r === 'unknown') throw notFound(`no command ${params.id}`);
      if (r === 'not-pending') throw new ApiProblem(409, `command ${params.id} is no longer pending`);
      return { body: await commandWithNodes(storage, params.id) };
    },
  }),
];
