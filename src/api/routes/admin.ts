// Enrollment users, API tokens and the audit log. Passwords and token values never appear in
// answers (a new token once, to its creator) or in the audit log.
import { z } from 'zod';
import { createToken, revokeToken } from '../../services/tokens.js';
import { addUser, removeUser, UserError } from '../../services/users.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { ApiProblem, notFound } from '../problem.js';
import { type RouteDef, route } from '../route.js';
import { AuditEntry, AuditQuery, CreatedToken, NewToken, NewUser, page, Token, User } from '../schemas.js';

const UpnParams = z.strictObject({ upn: z.string().min(1).max(320) });
const TokenParams = z.strictObject({ id: z.string().min(1).max(64) });

const publicToken = ({ hash: _hash, ...t }: { hash: string } & z.infer<typeof Token>) => t;

export const adminRoutes: RouteDef[] = [
  route({
    method: 'get',
    path: '/users',
    tag: 'users',
    role: 'auditor',
    summary: 'Enrollment users',
    csv: 'items',
    responses: { 200: { description: 'the users', schema: z.strictObject({ items: z.array(User) }) } },
    handler: async ({ storage }) => ({
      body: { items: (await storage.users.listUsers()).map((u) => ({ upn: u.upn, createdAt: u.createdAt })) },
    }),
  }),
  route({
    method: 'post',
    path: '/users',
    tag: 'users',
    role: 'admin',
    summary: 'Add an enrollment user (mdm users add)',
    body: NewUser,
    problems: [409, 415],
    responses: { 201: { description: 'added', schema: z.strictObject({ upn: z.string() }) } },
    handler: async ({ storage, body, actor }) => {
      try {
        return { status: 201, body: { upn: await addUser(storage, { ...body, actor }) } };
      } catch (err) {
        if (err instanceof UserError)
          throw new ApiProblem(/already exists/.test(err.message) ? 409 : 400, err.message);
        throw err;
      }
    },
  }),
  route({
    method: 'delete',
    path: '/users/:upn',
    tag: 'users',
    role: 'admin',
    summary: 'Remove an enrollment user (enrolled devices stay enrolled)',
    params: UpnParams,
    problems: [404],
    responses: { 204: { description: 'removed' } },
    handler: async ({ storage, params, actor }) => {
      if (!(await removeUser(storage, { upn: params.upn, actor }))) throw notFound(`no user ${params.upn}`);
      return { status: 204, body: undefined };
    },
  }),
  route({
    method: 'get',
    path: '/tokens',
    tag: 'tokens',
    role: 'admin',
    summary: 'API tokens (never their values)',
    csv: 'items',
    responses: { 200: { description: 'the tokens', schema: z.strictObject({ items: z.array(Token) }) } },
    handler: async ({ storage }) => ({
      body: { items: (await storage.tokens.listTokens()).map(publicToken) },
    }),
  }),
  route({
    method: 'post',
    path: '/tokens',
    tag: 'tokens',
    role: 'admin',
    summary: 'Create a token (mdm tokens create); its value is in this answer only. Default role: auditor',
    body: NewToken,
    problems: [415],
    responses: { 201: { description: 'created', schema: CreatedToken } },
    handler: async ({ storage, body, actor }) => {
      const t = await createToken(storage, { name: body.name, ...(body.role && { role: body.role }), actor });
      return { status: 201, body: { id: t.id, name: body.name, role: t.role, token: t.token } };
    },
  }),
  route({
    method: 'post',
    path: '/tokens/:id/revoke',
    tag: 'tokens',
    role: 'admin',
    summary: 'Revoke a token',
    params: TokenParams,
    problems: [404],
    responses: { 200: { description: 'revoked', schema: Token } },
    handler: async ({ storage, params, actor }) => {
      if (!(await revokeToken(storage, { id: params.id, actor })))
        throw notFound(`no live token ${params.id}`);
      return { body: publicToken((await storage.tokens.getToken(params.id))!) };
    },
  }),
  route({
    method: 'get',
    path: '/audit',
    tag: 'audit',
    role: 'auditor',
    summary: 'The audit log, newest first, filtered by device, actor, action, time',
    query: AuditQuery,
    csv: 'items',
    responses: { 200: { description: 'one page of entries', schema: page(AuditEntry) } },
    handler: async ({ storage, query }) => {
      const before = decodeCursor(query.cursor, (v): v is number => Number.isInteger(v));
      const rows = await storage.audit.list({
        ...(query.deviceId && { deviceId: query.deviceId }),
        ...(query.actor && { actor: query.actor }),
        ...(query.action && { action: query.action }),
        ...(query.since && { since: new Date(query.since).toISOString() }),
        ...(query.until && { until: new Date(query.until).toISOString() }),
        ...(before !== undefined && { beforeId: before }),
        limit: query.limit + 1,
      });
      const items = rows.slice(0, query.limit);
      const nextCursor = rows.length > query.limit ? encodeCursor(items.at(-1)!.id) : null;
      return { body: { items, nextCursor } };
    },
  }),
];
