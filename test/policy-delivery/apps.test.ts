// The app state machine without a server: commands queued per transition, lost commands failed and
// retried on the doubling backoff, outcomes of the CSP status nodes, removal.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createAppDelivery, parseAppTag } from '../../src/policy/apps/delivery.js';
import type { AppPlan } from '../../src/policy/apps/types.js';
import type { ActiveSet } from '../../src/policy/delivery/policy-set.js';
import type { CommandAnswer, CommandQueuePort } from '../../src/policy/delivery/settings.js';
import { EMPTY_ASSIGNMENTS } from '../../src/policy/language/assignment.js';
import type { DmCommand } from '../../src/shared/dm-command.js';
import type { DeviceAppRecord } from '../../src/storage/apps.js';

const PLAN: AppPlan = {
  key: 'msi:{AAAAAAAA-0000-0000-0000-00000000000A}',
  kind: 'msi',
  id: '{11111111-0000-0000-0000-000000000001}',
  name: 'Tool',
  version: '1.0.0',
  content: { sha256: 'ab'.repeat(32), size: 10, file: 'tool.msi' },
  commandLine: '/quiet',
  timeoutMinutes: 5,
  retryCount: 3,
  retryIntervalMinutes: 5,
};
const MSI =
  './Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/%7B11111111-0000-0000-0000-000000000001%7D';

function setOf(
  apps: readonly AppPlan[] | undefined,
  retryDelayMs = 60_000,
  verification: Partial<ActiveSet['assignments']['verification']> = {},
): ActiveSet {
  return {
    revision: 1,
    policies: new Map(
      apps ? [['tools', { name: 'tools', file: 'tools.yaml', settings: [], atomic: false, apps }]] : [],
    ),
    assignments: {
      ...EMPTY_ASSIGNMENTS,
      verification: {
        ...EMPTY_ASSIGNMENTS.verification,
        maxFailureRetries: 2,
        failureRetryDelayMs: retryDelayMs,
        ...verification,
      },
    },
    compliance: [],
  };
}

function harness() {
  let clock = new Date('2026-01-01T00:00:00.000Z');
  const records = new Map<string, DeviceAppRecord>();
  const queued: { command: DmCommand; tag: string }[] = [];
  const open: { tag: string }[] = [];
  const stores = {
    apps: {
      listDeviceApps: async () => [...records.values()],
      saveDeviceApps: async (list: readonly DeviceAppRecord[]) => {
        for (const r of list) records.set(r.appKey, r);
      },
    },
    commands: {
      listForDevice: async () => open.map((o) => ({ tag: o.tag }) as never),
    },
  };
  const queue: CommandQueuePort = {
    async enqueue(_d, command, options) {
      queued.push({ command, tag: options.tag });
    },
  };
  const delivery = createAppDelivery({
    logger: createLogger('silent'),
    publicUrl: 'https://mdm.contoso.com',
    now: () => clock,
  });
  const profile = { id: 'DEV1', osVersion: '10.0.22631.1', userLoggedOn: true };
  return {
    records,
    queued,
    open,
    advance: (ms: number) => {
      clock = new Date(clock.getTime() + ms);
    },
    reconcile: (set: ActiveSet, poll = true) =>
      delivery.reconcileDevice(
        stores,
        set,
        'DEV1',
        set.policies.size > 0 ? ['tools'] : [],
        profile,
        queue,
        poll,
      ),
    outcome: (set: ActiveSet, o: Partial<CommandAnswer> & Pick<CommandAnswer, 'tag' | 'verb'>) =>
      delivery.onCommandOutcome(stores, set, { deviceId: 'DEV1', origin: 'policy', code: 200, ...o }, queue),
    record: () => records.get(PLAN.key),
  };
}

describe('app delivery state machine', () => {
  it('queues Add + Exec with the MsiInstallJob, then polls Status and records the installed version', async () => {
    const h = harness();
    const set = setOf([PLAN]);
    expect(await h.reconcile(set)).toBe(2);
    expect(h.queued.map((q) => [q.command.verb, q.tag])).toEqual([
      ['Add', `app:install:${PLAN.key}`],
      ['Exec', `app:install:${PLAN.key}`],
    ]);
    const exec = h.queued[1]!.command as unknown as {
      items: { target: string; data: string; format: string }[];
    };
    expect(exec.items[0]!.target).toBe(`${MSI}/DownloadInstall`);
    expect(exec.items[0]!.format).toBe('xml');
    expect(exec.items[0]!.data).toBe(
      '<MsiInstallJob id="{11111111-0000-0000-0000-000000000001}"><Product Version="1.0.0"><Download><ContentURLList>' +
        `<ContentURL>https://mdm.contoso.com/content/${'ab'.repeat(32)}</ContentURL></ContentURLList></Download>` +
        `<Validation><FileHash>${'AB'.repeat(32)}</FileHash></Validation><Enforcement><CommandLine>/quiet</CommandLine>` +
        '<TimeOut>5</TimeOut><RetryCount>3</RetryCount><RetryInterval>5</RetryInterval></Enforcement></Product></MsiInstallJob>',
    );
    const tag = `app:install:${PLAN.key}`;
    expect(await h.outcome(set, { tag, verb: 'Add', code: 418, target: `${MSI}/DownloadInstall` })).toBe(
      true,
    );
    await h.outcome(set, { tag, verb: 'Exec', code: 202, target: `${MSI}/DownloadInstall` });
    expect(h.record()?.state).toBe('installing');
    h.queued.length = 0;
    await h.reconcile(set); // next check-in: read the CSP's status nodes
    expect(
      h.queued.map((q) => ('items' in q.command ? q.command.items[0]!.target.slice(MSI.length) : '')),
    ).toEqual(['/Status', '/LastError', '/LastErrorDesc', '/Version']);
    const status = `app:status:${PLAN.key}`;
    await h.outcome(set, { tag: status, verb: 'Get', target: `${MSI}/Status`, data: '50' });
    expect(h.record()).toMatchObject({ state: 'installing', cspStatus: 50 });
    await h.outcome(set, { tag: status, verb: 'Get', target: `${MSI}/Status`, data: '70' });
    await h.outcome(set, { tag: status, verb: 'Get', target: `${MSI}/Version`, data: '1.0.1' });
    expect(h.record()).toMatchObject({
      state: 'installed',
      installedVersion: '1.0.1',
      reason: 'device reports version 1.0.1, expected 1.0.0',
    });
    expect(parseAppTag('setting:apply:./x')).toBeUndefined();
  });

  it('fails lost commands and retries them on a doubling backoff, bounded', async () => {
    const h = harness();
    const set = setOf([PLAN]);
    await h.reconcile(set);
    h.queued.length = 0;
    await h.reconcile(set); // no command left in the queue: lost
    expect(h.record()).toMatchObject({
      state: 'failed',
      attempts: 1,
      reason: 'install commands were never answered',
      nextRetryAt: '2026-01-01T00:01:00.000Z',
    });
    expect(h.queued).toEqual([]);
    h.advance(60_000);
    await h.reconcile(set);
    expect(h.record()).toMatchObject({ state: 'pending', attempts: 2 });
    expect(h.queued).toHaveLength(2);
    h.queued.length = 0;
    await h.reconcile(set);
    expect(h.record()).toMatchObject({
      state: 'failed',
      attempts: 2,
      nextRetryAt: '2026-01-01T00:03:00.000Z',
    });
    h.advance(120_000);
    await h.reconcile(set);
    h.queued.length = 0;
    await h.reconcile(set);
    expect(h.record()).toMatchObject({
      state: 'failed',
      attempts: 3,
      nextRetryAt: null,
      reason: 'install commands were never answered (gave up after 3 attempts)',
    });
    h.advance(3600_000);
    await h.reconcile(set);
    expect(h.queued).toEqual([]);
  });

  it('an outstanding command is not lost; unassignment Deletes the product; 404 counts as removed', async () => {
    const h = harness();
    const set = setOf([PLAN]);
    await h.reconcile(set);
    h.open.push({ tag: `app:install:${PLAN.key}` });
    await h.reconcile(set);
    expect(h.record()?.state).toBe('pending');
    h.queued.length = 0;
    const none = setOf(undefined);
    h.open.push({ tag: `app:remove:${PLAN.key}` });
    await h.reconcile(none);
    expect(
      h.queued.map((q) => [q.command.verb, 'items' in q.command ? q.command.items[0]!.target : '']),
    ).toEqual([['Delete', MSI]]);
    expect(h.record()).toMatchObject({ state: 'removing', policy: null });
    await h.outcome(none, { tag: `app:remove:${PLAN.key}`, verb: 'Delete', code: 404, target: MSI });
    expect(h.record()).toMatchObject({
      state: 'removed',
      reason: 'unassigned (not installed on the device)',
    });
  });

  it('re-verifies an installed app after appInterval; missing or at another version it is re-installed, bounded by maxDriftRetries', async () => {
    const h = harness();
    const set = setOf([PLAN], 60_000, { appIntervalMs: 3600_000, maxDriftRetries: 1 });
    const install = `app:install:${PLAN.key}`;
    const status = `app:status:${PLAN.key}`;
    const verify = `app:verify:${PLAN.key}`;
    const installNow = async () => {
      await h.outcome(set, { tag: install, verb: 'Add', target: `${MSI}/DownloadInstall` });
      await h.outcome(set, { tag: install, verb: 'Exec', code: 202, target: `${MSI}/DownloadInstall` });
      await h.outcome(set, { tag: status, verb: 'Get', target: `${MSI}/Status`, data: '70' });
    };
    const tags = () => h.queued.map((q) => `${q.command.verb} ${q.tag}`);
    await h.reconcile(set);
    await installNow();
    expect(h.record()).toMatchObject({
      state: 'installed',
      verifiedAt: '2026-01-01T00:00:00.000Z',
      nextCheckAt: '2026-01-01T01:00:00.000Z',
      reinstalls: 0,
    });
    h.queued.length = 0;
    h.advance(3599_000);
    expect(await h.reconcile(set)).toBe(0); // not due yet
    h.advance(1000);
    expect(await h.reconcile(set)).toBe(4);
    expect(tags()).toEqual([`Get ${verify}`, `Get ${verify}`, `Get ${verify}`, `Get ${verify}`]);
    expect(h.record()).toMatchObject({ state: 'installed', nextCheckAt: '2026-01-01T02:00:00.000Z' });
    h.queued.length = 0;
    expect(await h.reconcile(set)).toBe(0); // asked once per interval
    // The product is gone from the device: back to delivery.
    await h.outcome(set, { tag: verify, verb: 'Get', target: `${MSI}/Status`, code: 404 });
    await h.outcome(set, { tag: verify, verb: 'Get', target: `${MSI}/Version`, code: 404 });
    expect(h.record()).toMatchObject({
      state: 'pending',
      reinstalls: 1,
      attempts: 1,
      installedId: null,
      installedVersion: null,
      nextCheckAt: null,
      reason: 're-install: the device no longer has the app (Status not found)',
    });
    expect(tags()).toEqual([`Add ${install}`, `Exec ${install}`]);
    await installNow();
    expect(h.record()).toMatchObject({
      state: 'installed',
      reason: null,
      installedVersion: '1.0.0',
      reinstalls: 1,
    });
    // A confirming answer moves verifiedAt on.
    h.advance(3600_000);
    await h.reconcile(set);
    await h.outcome(set, { tag: verify, verb: 'Get', target: `${MSI}/Status`, data: '70' });
    await h.outcome(set, { tag: verify, verb: 'Get', target: `${MSI}/Version`, data: '1.0.0' });
    expect(h.record()).toMatchObject({ state: 'installed', verifiedAt: '2026-01-01T02:00:00.000Z' });
    // Another version, and the one re-install allowed is used up: failed, final.
    h.advance(3600_000);
    await h.reconcile(set);
    h.queued.length = 0;
    await h.outcome(set, { tag: verify, verb: 'Get', target: `${MSI}/Status`, data: '70' });
    await h.outcome(set, { tag: verify, verb: 'Get', target: `${MSI}/Version`, data: '0.9.0' });
    expect(h.record()).toMatchObject({
      state: 'failed',
      installedVersion: '0.9.0',
      nextRetryAt: null,
      reason: 'the device reports version 0.9.0, expected 1.0.0; not re-installed again after 1 re-install',
    });
    expect(h.queued).toEqual([]);
    h.advance(48 * 3600_000);
    expect(await h.reconcile(set)).toBe(0);
  });

  it('re-verifies an MSIX package by its inventory: no package left is a re-install', async () => {
    const h = harness();
    const PFN = 'Contoso.Notes_8wekyb3d8bbwe';
    const plan: AppPlan = {
      key: `msix:${PFN}`,
      kind: 'msix',
      id: PFN,
      name: 'Notes',
      version: '3.1.0.0',
      content: { sha256: 'cd'.repeat(32), size: 10, file: 'notes.msix' },
    };
    const set = setOf([plan], 60_000, { appIntervalMs: 0 });
    const base = './Device/Vendor/MSFT/EnterpriseModernAppManagement';
    await h.reconcile(set);
    await h.outcome(set, {
      tag: `app:install:${plan.key}`,
      verb: 'Exec',
      code: 202,
      target: `${base}/AppInstallation/${PFN}/HostedInstall`,
    });
    const status = { tag: `app:status:${plan.key}`, verb: 'Get' } as const;
    await h.outcome(set, { ...status, target: `${base}/AppInstallation/${PFN}/Status`, data: '3' });
    expect(h.records.get(plan.key)?.state).toBe('installed');
    h.queued.length = 0;
    expect(await h.reconcile(set)).toBe(4); // interval 0: at every check-in
    const verify = { tag: `app:verify:${plan.key}`, verb: 'Get' } as const;
    await h.outcome(set, { ...verify, target: `${base}/AppInstallation/${PFN}/Status`, data: '3' });
    await h.outcome(set, {
      ...verify,
      target: `${base}/AppManagement/nonStore/${PFN}`,
      data: `Contoso.Notes_3.1.0.0_neutral__8wekyb3d8bbwe`,
    });
    expect(h.records.get(plan.key)).toMatchObject({ state: 'installed', reinstalls: 0 });
    await h.reconcile(set);
    await h.outcome(set, { ...verify, target: `${base}/AppInstallation/${PFN}/Status`, data: '3' });
    expect(h.records.get(plan.key)?.state).toBe('installed'); // the job's Status outlives the package
    await h.outcome(set, { ...verify, target: `${base}/AppManagement/nonStore/${PFN}`, code: 404 });
    expect(h.records.get(plan.key)).toMatchObject({
      state: 'pending',
      reinstalls: 1,
      reason: 're-install: the device no longer has the app (inventory not found)',
    });
  });
});
