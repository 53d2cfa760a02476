// Delivery of SCEP certificate profiles (README "Certificate profiles over SCEP"), next to that of
// settings and apps. For each device and profile the server creates a one-time challenge bound to
// the subject and SANs resolved for that device (RFC 8894 §2.2, challengePassword), sends the
// profile's ClientCertificateInstall Install nodes in one Atomic with that challenge in `Challenge`,
// and, once the device accepted them, the `Install/Enroll` Exec. The device enrols after the session
// and does not tell the server (CSP doc: "The device will not notify MDM server after cert
// enrollment is done"), so at later check-ins the server reads `ErrorCode`, `CertThumbprint` and
// `Status` (https://learn.microsoft.com/en-us/windows/client-management/mdm/clientcertificateinstall-csp).
//
// States: pending → requested (Exec sent) → issued (the SCEP request was signed, scep/service.ts
// `onIssued`) → installed (the device reports the issued certificate's thumbprint); failed (CSP
// Status 16 with ErrorCode, or a refused command), retried with backoff; renewing (the same steps
// again before expiry, by `renewalThresholdPercent`) → installed with the new certificate; revoked
// (the profile is no longer assigned: the SCEP node is deleted, which deletes the certificate on the
// device, and every certificate issued for the profile is revoked, so the CRL lists it).
//
// A command's tag carries the delivery attempt: answers to an older attempt (a challenge replaced
// because it expired) are ignored. The challenge itself is only in the queued command; the
// database keeps its hash (storage/scep.ts) and the profile record only its expiry.
import type { Logger } from '../../logger.js';
import { createScepChallenge } from '../../scep/service.js';
import type { DmCommand } from '../../shared/dm-command.js';
import type { DeviceCertificateProfileRecord, ScepCertificateRecord, ScepStore } from '../../storage/scep.js';
import type { CertificateProfilePlan } from '../language/certificates.js';
import type { DeviceProfile } from '../language/groups.js';
import { resolveTemplate, type TemplateContext } from '../language/templates.js';
import type { CompiledPolicy } from '../language/types.js';
import type { ActiveSet } from './policy-set.js';
import type { CommandAnswer, CommandQueuePort, DeliveryStores, TemplateValues } from './settings.js';
import { templateContextOf } from './settings.js';

export type ProfileRecord = DeviceCertificateProfileRecord;

/** CSP Status values (ClientCertificateInstall CSP, SCEP/{UniqueID}/Status). */
export const SCEP_CSP_STATUS = { done: 1, pending: 2, failed: 16, unknown: 32 } as const;

const TAG = 'scep';
type ProfileOp = 'install' | 'enroll' | 'status' | 'remove';
const MAX_BACKOFF_MS = 24 * 3600_000;

export function certificateTag(op: ProfileOp, profile: string, attempt: number): string {
  return `${TAG}:${op}:${attempt}:${profile}`;
}

export function parseCertificateTag(
  tag: string | undefined,
): { op: ProfileOp; attempt: number; profile: string } | undefined {
  const m = tag ? /^scep:(install|enroll|status|remove):(\d+):(.+)$/s.exec(tag) : null;
  return m ? { op: m[1] as ProfileOp, attempt: Number(m[2]), profile: m[3]! } : undefined;
}

/** When a certificate valid from `notBefore` to `notAfter` is due for renewal. */
export function renewalDueAt(notBefore: string, notAfter: string, thresholdPercent: number): Date {
  const from = Date.parse(notBefore);
  const to = Date.parse(notAfter);
  return new Date(to - ((to - from) * thresholdPercent) / 100);
}

/** `0x80004005` for the HRESULT an ErrorCode node holds (signed or unsigned). */
export function hresult(code: number): string {
  return `0x${(code >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

export type CertificateDeliveryStores = Pick<DeliveryStores, 'scep' | 'audit'>;

export interface CertificateDeliveryOptions {
  readonly logger: Logger;
  readonly now?: () => Date;
  readonly priority?: number;
  /** Lifetime of a challenge (`MDM_SCEP_CHALLENGE_TTL_MINUTES`, default 60). */
  readonly challengeTtlMinutes?: number;
  /** Server-side `{{variable}}` values (SCEP URL, CA thumbprint). */
  readonly templateValues?: TemplateValues;
}

interface Wanted {
  readonly policy: string;
  readonly plan: CertificateProfilePlan;
  readonly compiled: CompiledPolicy;
}

export interface CertificateDelivery {
  /** Brings the device's certificate profiles in line with its policies; `poll` reads the CSP status. */
  reconcileDevice(
    stores: CertificateDeliveryStores,
    set: ActiveSet,
    deviceId: string,
    policyNames: readonly string[],
    profile: DeviceProfile | undefined,
    queue: CommandQueuePort,
    poll: boolean,
  ): Promise<void>;
  /**
   * One answer to a certificate profile command. True when the certificate the device has
   * installed changed (settings naming `{{certificate.<p>.thumbprint}}` must be filled again).
   */
  onCommandOutcome(
    stores: CertificateDeliveryStores,
    set: ActiveSet,
    outcome: CommandAnswer,
    queue: CommandQueuePort,
  ): Promise<boolean>;
}

export function createCertificateDelivery(options: CertificateDeliveryOptions): CertificateDelivery {
  const now = options.now ?? (() => new Date());
  const priority = options.priority ?? 50;
  const ttlMinutes = options.challengeTtlMinutes ?? 60;
  const { logger } = options;

  const enqueue = (
    queue: CommandQueuePort,
    deviceId: string,
    command: DmCommand,
    tag: string,
    expiresAt?: string | null,
  ) =>
    queue.enqueue(deviceId, command, {
      origin: 'policy',
      tag,
      priority,
      ...(expiresAt ? { expiresAt } : {}),
    });

  function retryAt(set: ActiveSet, attempts: number): string | null {
    const { maxFailureRetries, failureRetryDelayMs } = set.assignments.verification;
    if (attempts > maxFailureRetries) return null;
    const delay = Math.min(MAX_BACKOFF_MS, failureRetryDelayMs * 2 ** Math.max(0, attempts - 1));
    return new Date(now().getTime() + delay).toISOString();
  }

  function fail(set: ActiveSet, r: ProfileRecord, patch: Partial<ProfileRecord>, reason: string) {
    const next = retryAt(set, r.attempts);
    const gaveUp =
      next === null ? ` (gave up after ${r.attempts} attempt${r.attempts === 1 ? '' : 's'})` : '';
    return {
      ...r,
      ...patch,
      state: 'failed' as const,
      reason: `${reason}${gaveUp}`,
      nextRetryAt: next,
      updatedAt: now().toISOString(),
    };
  }

  function fresh(deviceId: string, w: Wanted): ProfileRecord {
    return {
      deviceId,
      profile: w.plan.name,
      policy: w.policy,
      root: w.plan.root,
      state: 'pending',
      subject: null,
      san: [],
      challengeExpiresAt: null,
      attempts: 0,
      serial: null,
      thumbprint: null,
      notBefore: null,
      notAfter: null,
      installedThumbprint: null,
      cspStatus: null,
      errorCode: null,
      statusCode: null,
      reason: null,
      nextRetryAt: null,
      requestedAt: null,
      issuedAt: null,
      installedAt: null,
      updatedAt: now().toISOString(),
    };
  }

  /** Subject and SANs for this device, or why they cannot be filled. */
  function identity(plan: CertificateProfilePlan, context: TemplateContext) {
    const subject = resolveTemplate(plan.subject, context);
    if ('unresolved' in subject) return { unresolved: subject.unresolved };
    const san: string[] = [];
    for (const s of plan.san ?? []) {
      const r = resolveTemplate(s, context);
      if ('unresolved' in r) return { unresolved: r.unresolved };
      san.push(r.value);
    }
    return { subject: subject.value, san };
  }

  /**
   * A new attempt: a challenge for this device and profile, the Install nodes (Add the first
   * time, Replace afterwards: the CSP doc allows Replace on the Install children) in one Atomic.
   */
  async function deliver(
    stores: Required<Pick<CertificateDeliveryStores, 'scep'>>,
    queue: CommandQueuePort,
    base: ProfileRecord,
    w: Wanted,
    context: TemplateContext,
    id: { subject: string; san: string[] },
    verb: 'Add' | 'Replace',
    state: 'pending' | 'renewing',
  ): Promise<ProfileRecord> {
    const at = now();
    const prefix = `${w.plan.root}/Install/`;
    const nodes = w.compiled.settings.filter((s) => s.path.startsWith(prefix));
    // Every value but the challenge first, so no challenge is made for nodes that cannot be sent.
    const probe = { ...context, challenges: { [w.plan.name]: 'x' } };
    for (const n of nodes) {
      const r = resolveTemplate(n.value, probe);
      if ('unresolved' in r) {
        return { ...base, state: base.state, reason: r.unresolved, updatedAt: at.toISOString() };
      }
    }
    const { challenge, expiresAt } = await createScepChallenge(stores, {
      deviceId: base.deviceId,
      profile: w.plan.name,
      subject: id.subject,
      san: id.san,
      issuance: { validityDays: w.plan.validityDays, keyUsage: w.plan.keyUsage, ekus: w.plan.ekuOids },
      ttlMinutes,
      now: at,
    });
    const filled = { ...context, challenges: { [w.plan.name]: challenge } };
    const commands: DmCommand[] = nodes.map((n) => ({
      verb,
      items: [
        {
          target: n.path,
          format: n.format,
          ...(n.type ? { type: n.type } : {}),
          data: (resolveTemplate(n.value, filled) as { value: string }).value,
        },
      ],
    }));
    const attempts = base.attempts + 1;
    await enqueue(
      queue,
      base.deviceId,
      { verb: 'Atomic', commands },
      certificateTag('install', w.plan.name, attempts),
      // Not sent once its challenge expired: the next check-in sends a fresh one.
      expiresAt,
    );
    logger.info(
      { deviceId: base.deviceId, profile: w.plan.name, attempt: attempts, expiresAt },
      'certificate profile: Install nodes queued with a new challenge',
    );
    return {
      ...base,
      policy: w.policy,
      root: w.plan.root,
      state,
      subject: id.subject,
      san: id.san,
      challengeExpiresAt: expiresAt,
      attempts,
      cspStatus: null,
      errorCode: null,
      statusCode: null,
      reason: state === 'renewing' ? `renewal of ${base.serial ?? 'the certificate'}` : null,
      nextRetryAt: null,
      requestedAt: null,
      // Set again when this attempt's certificate is issued; until then the one the device holds counts.
      issuedAt: null,
      updatedAt: at.toISOString(),
    };
  }

  async function poll(queue: CommandQueuePort, r: ProfileRecord) {
    // ErrorCode and CertThumbprint before Status: Status decides with both at hand.
    for (const node of ['ErrorCode', 'CertThumbprint', 'Status']) {
      await enqueue(
        queue,
        r.deviceId,
        { verb: 'Get', items: [{ target: `${r.root}/${node}` }] },
        certificateTag('status', r.profile, r.attempts),
      );
    }
  }

  async function remove(
    stores: Required<Pick<CertificateDeliveryStores, 'scep'>> & CertificateDeliveryStores,
    queue: CommandQueuePort,
    r: ProfileRecord,
  ): Promise<ProfileRecord> {
    const at = now().toISOString();
    // CSP doc: "Calling Delete on the this node, should delete the corresponding SCEP certificate".
    await enqueue(
      queue,
      r.deviceId,
      { verb: 'Delete', items: [{ target: r.root }] },
      certificateTag('remove', r.profile, r.attempts),
    );
    const revoked: string[] = [];
    for (const c of await stores.scep.listCertificates({ deviceId: r.deviceId, profile: r.profile })) {
      if (c.status === 'revoked') continue;
      if (!(await stores.scep.revokeCertificate(c.serial, at, 'profile unassigned'))) continue;
      revoked.push(c.serial);
      await stores.audit?.record({
        actor: 'policy',
        action: 'certificates.revoke',
        deviceId: r.deviceId,
        details: { serial: c.serial, profile: r.profile, reason: 'profile unassigned' },
      });
    }
    logger.info({ deviceId: r.deviceId, profile: r.profile, revoked }, 'certificate profile removed');
    return {
      ...r,
      state: 'revoked',
      reason: `no longer assigned${r.policy ? ` (was ${r.policy})` : ''}; ${
        revoked.length ? `revoked ${revoked.join(', ')}` : 'no certificate to revoke'
      }`,
      challengeExpiresAt: null,
      nextRetryAt: null,
      updatedAt: at,
    };
  }

  async function reconcileDevice(
    stores: CertificateDeliveryStores,
    set: ActiveSet,
    deviceId: string,
    policyNames: readonly string[],
    profile: DeviceProfile | undefined,
    queue: CommandQueuePort,
    pollStatus: boolean,
  ): Promise<void> {
    const scep = stores.scep;
    if (!scep || !profile) return;
    const wanted = new Map<string, Wanted>();
    for (const name of policyNames) {
      const compiled = set.policies.get(name);
      for (const plan of compiled?.certificates ?? []) {
        if (!wanted.has(plan.name)) wanted.set(plan.name, { policy: name, plan, compiled: compiled! });
      }
    }
    const existing = new Map((await scep.listDeviceProfiles(deviceId)).map((r) => [r.profile, r]));
    if (wanted.size === 0 && existing.size === 0) return;
    const at = now();
    const changed: ProfileRecord[] = [];
    let context: TemplateContext | undefined;
    const withScep = { ...stores, scep };

    for (const [name, w] of wanted) {
      const record = existing.get(name);
      context ??= await templateContextOf(profile, options.templateValues, stores);
      const id = identity(w.plan, context);
      const base = record ?? fresh(deviceId, w);
      const first =
        !record || record.state === 'revoked' || (record.state === 'pending' && record.attempts === 0);
      if (w.plan.scope === 'user' && !profile.userLoggedOn && first) {
        // A ./User/… profile enrols in the session of the logged-on user.
        const reason = 'waiting for the user to log on (user-scope profile)';
        if (!record || record.reason !== reason)
          changed.push({ ...base, state: record?.state ?? 'pending', reason, updatedAt: at.toISOString() });
        continue;
      }
      if ('unresolved' in id) {
        const reason = id.unresolved ?? '';
        if (!record || record.reason !== reason || record.state === 'revoked')
          changed.push({ ...base, state: 'pending', policy: w.policy, reason, updatedAt: at.toISOString() });
        continue;
      }
      const expired = (r: ProfileRecord) =>
        r.challengeExpiresAt !== null && Date.parse(r.challengeExpiresAt) <= at.getTime();
      const sameIdentity =
        record !== undefined &&
        record.subject === id.subject &&
        record.san.join('\n') === id.san.join('\n') &&
        record.root === w.plan.root;
      let next: ProfileRecord | undefined;
      if (first) {
        next = await deliver(withScep, queue, base, w, context, id, 'Add', 'pending');
      } else if (!sameIdentity && record.state !== 'failed') {
        // The device's name (or another value in the subject) changed: enrol again for the new one.
        next = await deliver(withScep, queue, record, w, context, id, 'Replace', 'pending');
      } else if (
        (record.state === 'pending' || record.state === 'requested' || record.state === 'renewing') &&
        expired(record)
      ) {
        // The device never used the challenge: a fresh one (the old one stays unusable).
        const state = record.state === 'renewing' ? 'renewing' : 'pending';
        next = await deliver(withScep, queue, record, w, context, id, 'Replace', state);
      } else if (
        record.state === 'failed' &&
        record.nextRetryAt !== null &&
        Date.parse(record.nextRetryAt) <= at.getTime()
      ) {
        next = await deliver(withScep, queue, record, w, context, id, 'Replace', 'pending');
      } else if (
        record.state === 'installed' &&
        record.notBefore &&
        record.notAfter &&
        renewalDueAt(record.notBefore, record.notAfter, w.plan.renewalThresholdPercent).getTime() <=
          at.getTime()
      ) {
        next = await deliver(withScep, queue, record, w, context, id, 'Replace', 'renewing');
      } else if (
        pollStatus &&
        record.requestedAt !== null &&
        (record.state === 'requested' || record.state === 'issued' || record.state === 'renewing')
      ) {
        await poll(queue, record);
      }
      if (next && next !== record) changed.push(next);
    }
    for (const [name, record] of existing) {
      if (wanted.has(name) || record.state === 'revoked') continue;
      changed.push(await remove(withScep, queue, record));
    }
    if (changed.length > 0) await scep.saveDeviceProfiles(changed);
  }

  async function onCommandOutcome(
    stores: CertificateDeliveryStores,
    set: ActiveSet,
    outcome: CommandAnswer,
    queue: CommandQueuePort,
  ): Promise<boolean> {
    const ref = parseCertificateTag(outcome.tag);
    const scep = stores.scep;
    if (!ref || !scep) return false;
    const record = (await scep.listDeviceProfiles(outcome.deviceId)).find((r) => r.profile === ref.profile);
    if (!record || record.attempts !== ref.attempt || record.state === 'revoked') return false;
    const at = now().toISOString();
    const code = outcome.code;
    const ok = code !== null && code >= 200 && code < 300;
    const save = (r: ProfileRecord) => scep.saveDeviceProfiles([r]);

    if (ref.op === 'install') {
      if (outcome.verb === 'Atomic') {
        if (!ok) {
          await save(
            fail(
              set,
              record,
              { statusCode: code },
              `the device refused the Install nodes (Atomic ${code ?? 'unanswered'})`,
            ),
          );
          return false;
        }
        await enqueue(
          queue,
          record.deviceId,
          { verb: 'Exec', items: [{ target: `${record.root}/Install/Enroll` }] },
          certificateTag('enroll', record.profile, record.attempts),
          record.challengeExpiresAt,
        );
        await save({
          ...record,
          state: record.state === 'renewing' ? 'renewing' : 'requested',
          requestedAt: at,
          updatedAt: at,
        });
        return false;
      }
      // One node of the Atomic: its own failure says which node (215/216 are the others').
      if (!ok && code !== null && code !== 215 && code !== 216 && record.state === 'failed') {
        await save({
          ...record,
          statusCode: code,
          reason: `${record.reason ?? ''}: ${outcome.target ?? 'a node'} answered ${code}`,
          updatedAt: at,
        });
      }
      return false;
    }
    if (ref.op === 'enroll') {
      if (!ok) {
        await save(
          fail(
            set,
            record,
            { statusCode: code },
            `the device refused Install/Enroll (${code ?? 'unanswered'})`,
          ),
        );
      }
      return false;
    }
    if (ref.op === 'remove') return false;

    // Status reads (op `status`).
    const node = outcome.target?.slice(record.root.length + 1);
    if (!ok || outcome.data === undefined) return false; // not reported yet (404)
    const data = outcome.data.trim();
    if (node === 'ErrorCode') {
      const n = Number(data);
      if (Number.isFinite(n) && n !== record.errorCode)
        await save({ ...record, errorCode: n, updatedAt: at });
      return false;
    }
    if (node === 'CertThumbprint') {
      const t = data.toUpperCase();
      if (t && t !== record.installedThumbprint)
        await save({ ...record, installedThumbprint: t, updatedAt: at });
      return false;
    }
    if (node !== 'Status') return false;
    const status = Number(data);
    if (status === SCEP_CSP_STATUS.failed) {
      const error = record.errorCode !== null ? `, ErrorCode ${hresult(record.errorCode)}` : '';
      await save(
        fail(set, record, { cspStatus: status }, `the device reports Status 16 (enrolment failed)${error}`),
      );
      return false;
    }
    if (status !== SCEP_CSP_STATUS.done) {
      if (status !== record.cspStatus) await save({ ...record, cspStatus: status, updatedAt: at });
      return false;
    }
    // Done: installed once the device holds the certificate issued for this attempt.
    if (!record.thumbprint || record.issuedAt === null || record.installedThumbprint !== record.thumbprint) {
      if (status !== record.cspStatus) await save({ ...record, cspStatus: status, updatedAt: at });
      return false;
    }
    await supersede(stores, record, at);
    await save({
      ...record,
      state: 'installed',
      cspStatus: status,
      reason: null,
      nextRetryAt: null,
      challengeExpiresAt: null,
      installedAt: at,
      updatedAt: at,
    });
    logger.info(
      { deviceId: record.deviceId, profile: record.profile, serial: record.serial },
      'certificate profile installed',
    );
    return true;
  }

  /** After a renewal is installed, the certificates it replaced are revoked (RFC 5280 §5.3.1 superseded). */
  async function supersede(stores: CertificateDeliveryStores, record: ProfileRecord, at: string) {
    const scep = stores.scep!;
    for (const c of await scep.listCertificates({ deviceId: record.deviceId, profile: record.profile })) {
      if (c.serial === record.serial || c.status === 'revoked') continue;
      if (!(await scep.revokeCertificate(c.serial, at, 'superseded'))) continue;
      await stores.audit?.record({
        actor: 'policy',
        action: 'certificates.revoke',
        deviceId: record.deviceId,
        details: { serial: c.serial, profile: record.profile, reason: 'superseded', by: record.serial },
      });
    }
  }

  return { reconcileDevice, onCommandOutcome };
}

/**
 * The SCEP endpoint signed a request for this device and profile (scep/service.ts `onIssued`, in
 * the request's transaction): the profile record is `issued` (or stays `renewing`) with the new
 * certificate; it becomes `installed` once the device reports it.
 */
export async function certificateIssued(
  stores: { readonly scep: Pick<ScepStore, 'listDeviceProfiles' | 'saveDeviceProfiles'> },
  certificate: ScepCertificateRecord,
  at: Date,
): Promise<void> {
  const record = (await stores.scep.listDeviceProfiles(certificate.deviceId)).find(
    (r) => r.profile === certificate.profile,
  );
  if (!record || record.state === 'revoked') return;
  await stores.scep.saveDeviceProfiles([
    {
      ...record,
      state: record.state === 'renewing' ? 'renewing' : 'issued',
      serial: certificate.serial,
      thumbprint: certificate.thumbprint,
      notBefore: certificate.notBefore,
      notAfter: certificate.notAfter,
      issuedAt: certificate.issuedAt,
      challengeExpiresAt: null,
      reason: record.state === 'renewing' ? record.reason : null,
      updatedAt: at.toISOString(),
    },
  ]);
}
