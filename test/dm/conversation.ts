// Drives the pure session machine across exchanges the way the I/O layer does: the session state,
// the sent nodes with the statuses recorded so far, and the queue (a command that failed with a
// `rejected` effect leaves it, as the store marks it failed).
import type { SyncMlCommand } from '../../src/codec/syncml/types.js';
import { type StepInput, type StepOutput, step } from '../../src/dm/machine.js';
import type { AuthDecision, QueuedCommand, SentRef, SessionState } from '../../src/dm/types.js';

export const certAuth: AuthDecision = { ok: true, method: 'certificate', hdrStatus: 200 };
export const machineOptions = { defaultMaxMsgSize: 512_000, canReplace: () => true };

export class Conversation {
  state: SessionState | undefined;
  sent: SentRef[] = [];
  readonly failed = new Map<string, string>();
  constructor(
    public pending: QueuedCommand[],
    private readonly defaults: Partial<StepInput> = {},
  ) {}

  send(message: StepInput['message'], extra: Partial<StepInput> = {}): StepOutput {
    const out = step({
      state: this.state,
      message,
      deviceId: message.header.source,
      auth: certAuth,
      sent: this.sent,
      inFlight: this.pending,
      pending: this.pending,
      options: machineOptions,
      ...this.defaults,
      ...extra,
    });
    if (out.state) this.state = out.state;
    for (const e of out.effects) {
      if (e.kind === 'sent') this.sent.push(e.ref);
      if (e.kind === 'status' || e.kind === 'node-status')
        this.sent = this.sent.map((r) => (r.msgId === e.ref.msgId && r.cmdId === e.ref.cmdId ? e.ref : r));
      if (e.kind === 'rejected') this.failed.set(e.commandId, e.reason);
    }
    this.pending = this.pending.filter((p) => !this.failed.has(p.id));
    return out;
  }
}

export const queued = (id: string, command: QueuedCommand['command'], tag?: string): QueuedCommand => ({
  id,
  command,
  origin: 'admin',
  attempts: 0,
  ...(tag && { tag }),
});

export const kinds = (cmds: readonly SyncMlCommand[]) =>
  cmds.map((c) => (c.kind === 'Status' ? `Status:${c.cmd}:${c.cmdRef}:${c.data}` : `${c.kind}:${c.cmdId}`));
