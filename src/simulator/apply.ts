// How the virtual device executes server commands, following the rules Windows applies
// (docs/protocol-notes.md#commands, #meta-format-and-locuri, #atomic, #status-codes): unknown node 404, verb not in the node's AccessType 405,
// Add of an existing node 418, Meta Format different from the node's format 415, data that is not
// valid for the format or the allowed values 400, asynchronous nodes 202, Atomic all-or-nothing
// with 507/216/215, Sequence stops at the first failure, Get answers with Results.
import type { AccessType, CatalogLookup, CatalogNode } from '../catalog/types.js';
import { isSuccessStatus, STATUS } from '../codec/syncml/codes.js';
import type { DmFormat } from '../shared/dm-command.js';
import type { AppCspHooks } from './apps.js';
import type { ClientKind } from './client.js';
import type { DmTree } from './dm-tree.js';
import type { ServerCommand, ServerItem } from './wire.js';

export interface ResultItem {
  readonly source: string;
  readonly format: string;
  readonly type?: string;
  readonly data: string;
}

/** The device's answer to one server command (one Status, plus Results for a Get). */
export interface CommandOutcome {
  readonly cmdId: string;
  readonly cmd: string;
  readonly targetRef?: string;
  readonly status: number;
  readonly results?: readonly ResultItem[];
}

/** Side effects the device carries out after the session (docs/protocol-notes.md#generic-alerts, #csps). */
/**
 * `scep-enroll:<root>`: ClientCertificateInstall SCEP Enroll was executed for the profile at
 * `<root>` (`./Device/Vendor/MSFT/ClientCertificateInstall/SCEP/<UniqueID>`); the device enrols
 * after the session, as Windows does (the CSP's Enroll "will not notify the MDM server").
 */
export type DeviceEffect = 'unenroll' | 'wipe' | 'reboot' | `scep-enroll:${string}`;

export interface ApplyContext {
  readonly tree: DmTree;
  readonly catalog: CatalogLookup;
  /** Fault injection: answer 500 for these paths. */
  readonly failsAt?: (path: string) => boolean;
  /** Collects effects requested by Exec commands. */
  readonly effects: DeviceEffect[];
  /** Whose rules to answer by (client.ts); default `windows`. */
  readonly client?: ClientKind;
  /** The application CSPs (apps.ts): install jobs and uninstalls. */
  readonly apps?: AppCspHooks;
}

/** Nodes Windows answers 202 for: the work continues after the session (docs/protocol-notes.md#server-replies). */
const ASYNC_NODES: readonly RegExp[] = [
  /\/Personalization\/(DesktopImageUrl|LockScreenImageUrl)$/,
  /\/EnterpriseDesktopAppManagement\/MSI\/[^/]+\/DownloadInstall$/,
  /\/EnterpriseModernAppManagement\/AppInstallation\/[^/]+\/(HostedInstall|StoreInstall)$/,
];

const EXEC_EFFECTS: ReadonlyArray<readonly [RegExp, DeviceEffect]> = [
  [/\/DMClient\/(Provider\/[^/]+\/)?Unenroll$/, 'unenroll'],
  [/\/RemoteWipe\/doWipe[A-Za-z]*$/, 'wipe'],
  [/\/Reboot\/RebootNow$/, 'reboot'],
];

const SCEP_ENROLL = /^(.*\/ClientCertificateInstall\/SCEP\/[^/]+)\/Install\/Enroll$/;

/** Execute one top-level server command and return the outcomes in the order Windows reports them. */
export function applyCommand(cmd: ServerCommand, ctx: ApplyContext): CommandOutcome[] {
  const strict = ctx.client === 'strict-omadm';
  switch (cmd.name) {
    case 'Atomic':
      return strict ? applyStrictAtomic(cmd, ctx) : applyAtomic(cmd, ctx);
    case 'Sequence':
      return strict ? applyStrictSequence(cmd, ctx) : applySequence(cmd, ctx);
    case 'Get':
    case 'Add':
    case 'Replace':
    case 'Delete':
    case 'Exec':
      return strict ? applyPerItem(cmd, ctx) : [applyItemCommand(cmd, ctx)];
    case 'Copy':
      // An OMA DM command Windows does not implement (docs/protocol-notes.md#commands).
      return [{ cmdId: cmd.cmdId, cmd: cmd.name, status: STATUS.NOT_IMPLEMENTED }];
    default:
      // Not a command, or a command without CmdID: 400 (docs/protocol-notes.md#commands).
      return [{ cmdId: cmd.cmdId, cmd: cmd.name, status: STATUS.BAD_REQUEST }];
  }
}

function applyItemCommand(cmd: ServerCommand, ctx: ApplyContext): CommandOutcome {
  const first = cmd.items[0];
  const targetRef = first?.target;
  if (!first || cmd.cmdId === '') {
    return { cmdId: cmd.cmdId, cmd: cmd.name, targetRef, status: STATUS.BAD_REQUEST };
  }
  if (cmd.name === 'Exec' && cmd.items.length !== 1) {
    return { cmdId: cmd.cmdId, cmd: cmd.name, targetRef, status: STATUS.BAD_REQUEST };
  }
  const results: ResultItem[] = [];
  let status: number = STATUS.OK;
  for (const item of cmd.items) {
    const code = applyItem(cmd.name as AccessType, item, ctx, results);
    // One Status covers every Item: the first failure wins, 202 wins over 200.
    if (!isSuccessStatus(code)) {
      status = code;
      break;
    }
    if (code === STATUS.ACCEPTED) status = code;
  }
  return {
    cmdId: cmd.cmdId,
    cmd: cmd.name,
    targetRef,
    status,
    results: cmd.name === 'Get' && isSuccessStatus(status) ? results : undefined,
  };
}

function applyItem(verb: AccessType, item: ServerItem, ctx: ApplyContext, results: ResultItem[]): number {
  const path = item.target;
  if (!path || path.startsWith('/')) return STATUS.BAD_REQUEST;
  if (ctx.failsAt?.(path)) return STATUS.COMMAND_FAILED;
  const { tree } = ctx;
  const node = ctx.catalog.resolve(path);
  const own = tree.get(path);
  if (!node && !own && !tree.hasInterior(path)) return STATUS.NOT_FOUND;
  if (node && !node.access.includes(verb)) return STATUS.COMMAND_NOT_ALLOWED;

  switch (verb) {
    case 'Get': {
      // Policy Result shows the effective value: the configured one, else the default (§10.4).
      const configured = path.includes('/Policy/Result/')
        ? tree.get(path.replace('/Policy/Result/', '/Policy/Config/'))
        : undefined;
      const leaf = configured ?? own;
      if (leaf) {
        results.push({
          source: path,
          format: leaf.format,
          type: leaf.type ?? 'text/plain',
          data: leaf.value,
        });
        return STATUS.OK;
      }
      if (tree.hasInterior(path) || node?.format === 'node') {
        // An instance of a dynamic node (`…/Provider/{ProviderID}`) exists only once created.
        if (node?.dynamic && !tree.hasInterior(path)) return STATUS.NOT_FOUND;
        results.push({ source: path, format: 'node', data: tree.children(path).join('/') });
        return STATUS.OK;
      }
      // A setting never configured reads as 404 on Windows (docs/protocol-notes.md#policy-csp).
      return STATUS.NOT_FOUND;
    }
    case 'Add':
    case 'Replace': {
      if (verb === 'Add' && tree.isSet(path)) return STATUS.ALREADY_EXISTS;
      if (node?.format === 'node' || item.format === 'node') {
        if (verb === 'Replace') return STATUS.COMMAND_NOT_ALLOWED;
        tree.addInterior(path);
        return STATUS.OK;
      }
      const format = (node?.format ?? item.format ?? 'chr') as DmFormat;
      if (item.format && item.format !== format) return STATUS.UNSUPPORTED_MEDIA_TYPE;
      const data = item.data ?? '';
      if (!validData(format, data, node)) return STATUS.BAD_REQUEST;
      tree.set(path, { value: data, format, type: item.type ?? node?.mime });
      return isAsync(path) ? STATUS.ACCEPTED : STATUS.OK;
    }
    case 'Delete': {
      const app = ctx.apps?.delete(path);
      if (app !== undefined) return app;
      return tree.delete(path) ? STATUS.OK : STATUS.NOT_FOUND;
    }
    case 'Exec': {
      const app = ctx.apps?.exec(path, item.data ?? '');
      if (app !== undefined) return app;
      for (const [re, effect] of EXEC_EFFECTS) if (re.test(path)) ctx.effects.push(effect);
      const scep = SCEP_ENROLL.exec(path);
      if (scep) ctx.effects.push(`scep-enroll:${scep[1]}`);
      return isAsync(path) ? STATUS.ACCEPTED : STATUS.OK;
    }
  }
}

function isAsync(path: string): boolean {
  return ASYNC_NODES.some((re) => re.test(path));
}

/** Data check per Meta Format (docs/protocol-notes.md#meta-format-and-locuri) and the DDF's allowed values. */
export function validData(format: DmFormat, data: string, node: CatalogNode | undefined): boolean {
  switch (format) {
    case 'int':
      if (!/^-?\d+$/.test(data)) return false;
      break;
    case 'bool':
      if (data !== 'true' && data !== 'false') return false;
      break;
    case 'float':
      if (!/^-?\d+(\.\d+)?$/.test(data)) return false;
      break;
    case 'b64':
      if (!/^[A-Za-z0-9+/\r\n]*={0,2}$/.test(data)) return false;
      break;
  }
  const allowed = node?.allowed;
  if (!allowed) return true;
  if (allowed.kind === 'enum') return allowed.values.some((v) => v.value === data);
  if (allowed.kind === 'range') {
    const n = Number(data);
    return Number.isFinite(n) && n >= allowed.min && n <= allowed.max;
  }
  return true;
}

/** An outcome carrying only a status, for a command that did not run. */
function statusOnly(cmd: ServerCommand, status: number): CommandOutcome {
  return { cmdId: cmd.cmdId, cmd: cmd.name, targetRef: cmd.items[0]?.target, status };
}

/**
 * Runs the inner commands of an Atomic or Sequence in order; after the first failure the rest
 * are not executed (215, docs/protocol-notes.md#commands, #atomic).
 */
function applyUntilFailure(
  commands: readonly ServerCommand[],
  apply: (sub: ServerCommand) => CommandOutcome[],
): { inner: CommandOutcome[]; failed: boolean } {
  const inner: CommandOutcome[] = [];
  let failed = false;
  for (const sub of commands) {
    if (failed) {
      inner.push(statusOnly(sub, STATUS.NOT_EXECUTED));
      continue;
    }
    const outcomes = apply(sub);
    if (outcomes.some((o) => !isSuccessStatus(o.status))) failed = true;
    inner.push(...outcomes);
  }
  return { inner, failed };
}

/** Atomic: all or nothing (docs/protocol-notes.md#atomic). */
function applyAtomic(cmd: ServerCommand, ctx: ApplyContext): CommandOutcome[] {
  ctx.tree.begin();
  const effectsBefore = ctx.effects.length;
  const { inner, failed } = applyUntilFailure(cmd.commands ?? [], (sub) =>
    // Windows refuses Get and nested Atomic inside an Atomic with 500.
    sub.name === 'Get' || sub.name === 'Atomic'
      ? [statusOnly(sub, STATUS.COMMAND_FAILED)]
      : applyCommand(sub, ctx),
  );
  if (!failed) {
    ctx.tree.commit();
    return [{ cmdId: cmd.cmdId, cmd: 'Atomic', status: STATUS.OK }, ...inner];
  }
  ctx.tree.rollback();
  ctx.effects.length = effectsBefore;
  const rolledBack = inner.map((o) =>
    isSuccessStatus(o.status) && o.status !== STATUS.NOT_EXECUTED
      ? { ...o, status: STATUS.ATOMIC_ROLLBACK_OK, results: undefined }
      : o,
  );
  return [{ cmdId: cmd.cmdId, cmd: 'Atomic', status: STATUS.ATOMIC_FAILED }, ...rolledBack];
}

/** Sequence: in order, and nothing after the first failure runs (docs/protocol-notes.md#commands). */
function applySequence(cmd: ServerCommand, ctx: ApplyContext): CommandOutcome[] {
  const { inner } = applyUntilFailure(cmd.commands ?? [], (sub) => applyCommand(sub, ctx));
  return [{ cmdId: cmd.cmdId, cmd: 'Sequence', status: STATUS.OK }, ...inner];
}

/**
 * A strict OMA-DM client answers each Item with its own Status and TargetRef (client.ts); a Get's
 * values come in one Results after them, carried by the last outcome.
 */
function applyPerItem(cmd: ServerCommand, ctx: ApplyContext): CommandOutcome[] {
  if (cmd.items.length === 0 || cmd.cmdId === '') return [applyItemCommand(cmd, ctx)];
  const results: ResultItem[] = [];
  const outcomes: CommandOutcome[] = cmd.items.map((item) => ({
    cmdId: cmd.cmdId,
    cmd: cmd.name,
    ...(item.target !== undefined && { targetRef: item.target }),
    status: applyItem(cmd.name as AccessType, item, ctx, results),
  }));
  if (cmd.name === 'Get' && results.length > 0) {
    outcomes[outcomes.length - 1] = { ...outcomes[outcomes.length - 1]!, results };
  }
  return outcomes;
}

/** libdmclient's Atomic: every inner command runs on its own, no rollback, no Status for the Atomic. */
function applyStrictAtomic(cmd: ServerCommand, ctx: ApplyContext): CommandOutcome[] {
  return (cmd.commands ?? []).flatMap((sub) => applyCommand(sub, ctx));
}

/** libdmclient's Sequence: the inner commands in order, then the Sequence's own Status. */
function applyStrictSequence(cmd: ServerCommand, ctx: ApplyContext): CommandOutcome[] {
  const inner = (cmd.commands ?? []).flatMap((sub) => applyCommand(sub, ctx));
  return [...inner, { cmdId: cmd.cmdId, cmd: 'Sequence', status: STATUS.OK }];
}

/** Catalog default for a canonical path, as a tree leaf. Policy `Config` nodes hold no value until
 *  the server sets one (a Get reads 404, docs/protocol-notes.md#policy-csp); their defaults show under `Result`. */
export function catalogDefault(catalog: CatalogLookup) {
  return (path: string) => {
    if (path.includes('/Policy/Config/')) return undefined;
    const node = catalog.resolve(path);
    if (!node || node.defaultValue === undefined || node.format === 'node') return undefined;
    return { value: node.defaultValue, format: node.format, type: node.mime };
  };
}
