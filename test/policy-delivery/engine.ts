// A stand-in for the session engine in service-level tests: collects what the policy hooks
// enqueue and answers it like a Windows device would (Add 418 when the node exists, Get Results
// from its tree, 500 on chosen paths), feeding every answer back through `onCommandOutcome`.
import { createHash } from 'node:crypto';
import type { PolicyHooks, PolicyTx } from '../../src/policy/hooks.js';
import type { CommandOrigin, DmCommand, DmVerb } from '../../src/shared/dm-command.js';
import type { CheckIn, CommandOutcome, FollowUpCommand, HookContext } from '../../src/shared/dm-hooks.js';
import type { NewEnrollment } from '../../src/storage/devices.js';
import type { Storage } from '../../src/storage/index.js';

export interface Queued {
  readonly command: DmCommand;
  readonly origin: CommandOrigin;
  readonly tag?: string;
}

export class FakeDevice {
  readonly tree = new Map<string, string>();
  readonly failPaths = new Set<string>();
  /** Commands on these targets get no answer at all (the connection dropped before it). */
  readonly silentPaths = new Set<string>();
  /** Nodes that take a write but answer a Get (of the node or its Policy Result) with 404. */
  readonly writeOnly = new Set<string>();
  /** Every command the device received, in order (`Verb target`). */
  readonly received: string[] = [];
  loginStatus: 'user' | 'none' = 'user';
  constructor(readonly deviceId: string) {}

  answer(q: Queued): CommandOutcome[] {
    const c = q.command;
    if (!('items' in c)) {
      // Atomic: every inner command, then the container (docs/protocol-notes.md#atomic; no rollback needed here).
      const inner = c.commands.flatMap((child) => this.answer({ ...q, command: child }));
      return [...inner, { ...base(this.deviceId, q, 'Atomic', []), statusCode: 200 }];
    }
    const target = c.items[0]?.target ?? '';
    this.received.push(`${c.verb} ${target}`);
    const out = base(this.deviceId, q, c.verb, [target]);
    if (this.silentPaths.has(target)) return [];
    if (this.failPaths.has(target)) return [{ ...out, statusCode: 500 }];
    const configPath = target.replace('/Policy/Result/', '/Policy/Config/');
    if (c.verb === 'Get' && this.writeOnly.has(configPath)) return [{ ...out, statusCode: 404 }];
    switch (c.verb) {
      case 'Add':
        if (this.tree.has(target)) return [{ ...out, statusCode: 418 }];
        this.tree.set(target, c.items[0]?.data ?? '');
        return [{ ...out, statusCode: 200 }];
      case 'Replace':
        this.tree.set(target, c.items[0]?.data ?? '');
        return [{ ...out, statusCode: 200 }];
      case 'Delete':
        return [{ ...out, statusCode: this.tree.delete(target) ? 200 : 404 }];
      case 'Get': {
        const value = this.tree.get(configPath) ?? this.tree.get(target);
        if (value === undefined) return [{ ...out, statusCode: 404 }];
        return [{ ...out, statusCode: 200, results: [{ locUri: target, data: value }] }];
      }
      default:
        return [{ ...out, statusCode: 200 }];
    }
  }
}

let answered = 0;
function base(deviceId: string, q: Queued, verb: DmVerb, targets: string[]): CommandOutcome {
  const commandId = `c${++answered}`;
  return {
    deviceId,
    commandId,
    origin: q.origin,
    ...(q.tag ? { tag: q.tag } : {}),
    path: '',
    verb,
    targets,
    results: [],
  };
}

/** The context the session engine gives the hooks for one exchange of `deviceId`. */
export async function exchangeContext(
  tx: PolicyTx,
  deviceId: string,
  at = new Date(),
): Promise<HookContext<PolicyTx>> {
  return { tx, deviceId, sessionId: '1', at, policyRevision: await tx.policies.currentRevision() };
}

/** The check-in of package 1 as an exchange of its own: `onCheckIn`, then `onExchangeEnd`. */
export async function checkInExchange(
  hooks: PolicyHooks,
  tx: PolicyTx,
  deviceId: string,
  loginStatus = 'user',
  at?: Date,
): Promise<FollowUpCommand[]> {
  const ctx = await exchangeContext(tx, deviceId, at);
  const checkIn: CheckIn = { deviceId, sessionId: ctx.sessionId, sessionAlert: 1201, loginStatus };
  return [...(await hooks.onCheckIn(checkIn, ctx)), ...(await hooks.onExchangeEnd(ctx))];
}

/** One exchange answering `outcomes`: `onCommandOutcome` for each, then `onExchangeEnd`. */
export async function outcomeExchange(
  hooks: PolicyHooks,
  tx: PolicyTx,
  outcomes: readonly CommandOutcome[],
  at?: Date,
): Promise<FollowUpCommand[]> {
  const ctx = await exchangeContext(tx, outcomes[0]?.deviceId ?? '', at);
  const out: FollowUpCommand[] = [];
  for (const o of outcomes) out.push(...(await hooks.onCommandOutcome(o, ctx)));
  return [...out, ...(await hooks.onExchangeEnd(ctx))];
}

/** One OMA-DM session: check-in, then exchanges until nothing is queued (like MS-MDM 2.2.1). */
export async function session(
  hooks: PolicyHooks,
  device: FakeDevice,
  stores: PolicyTx,
  maxExchanges = 10,
): Promise<Queued[]> {
  let queue: Queued[] = [];
  const all: Queued[] = [];
  const enqueue = (list: readonly Queued[]) => {
    queue.push(...list);
    all.push(...list);
  };
  // Each exchange has its own context, read and written once (as the session engine does).
  enqueue(await checkInExchange(hooks, stores, device.deviceId, device.loginStatus));
  for (let i = 0; i < maxExchanges && queue.length > 0; i++) {
    const sending = queue;
    queue = [];
    const ctx = await exchangeContext(stores, device.deviceId);
    for (const q of sending) {
      for (const o of device.answer(q)) {
        enqueue(await hooks.onCommandOutcome(o, ctx));
        // The engine itself re-sends an Add answered 418 as Replace, keeping the tag.
        if (o.statusCode === 418 && o.verb === 'Add' && 'items' in q.command) {
          enqueue([{ ...q, command: { verb: 'Replace', items: q.command.items } }]);
        }
      }
    }
    enqueue(await hooks.onExchangeEnd(ctx));
  }
  return all;
}

export async function enrollInStorage(
  storage: Storage,
  deviceId: string,
  facts: { osVersion?: string; osEdition?: string; user?: string } = {},
): Promise<void> {
  const enrollment: NewEnrollment = {
    enrollmentId: `e-${deviceId}`,
    deviceId,
    hwDevId: null,
    name: deviceId,
    osEdition: facts.osEdition ?? '4',
    osVersion: facts.osVersion ?? '10.0.22631.4037',
    deviceType: 'CIMClient_Windows',
    locale: 'en-US',
    macs: [],
    enrollmentType: 'Full',
    authPolicy: 'OnPremise',
    userUpn: facts.user ?? 'user@contoso.com',
    providerId: 'OpenWindowsMDM',
    enrolledAt: '2026-01-01T00:00:00.000Z',
    digest: {
      appSrv: { name: 'n', secret: 's', nonce: 'bm9uY2U=' },
      client: { secret: 's', nonce: 'bm9uY2U=' },
    },
    certificate: {
      serial: createHash('sha1').update(`serial:${deviceId}`).digest('hex').slice(0, 16).toUpperCase(),
      thumbprint: createHash('sha1').update(deviceId).digest('hex').toUpperCase(),
      notBefore: '2026-01-01T00:00:00.000Z',
      notAfter: '2027-01-01T00:00:00.000Z',
      der: Buffer.from(deviceId),
    },
  };
  await storage.devices.recordEnrollment(enrollment);
}
