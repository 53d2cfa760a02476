// The queue rows one exchange changes, worked out from what the machine did (pure). Protocol rules
// of the queue live here, not in storage (MS-MDM 2.2; OMA-DM 1.2 SyncML Rep Pro §8.2 statuses):
// a sent command is `sent` until its own Status arrives; 213 only acknowledges one chunk of a large
// object (the final status follows); a command answered by no Status when its session ends goes
// back to the queue until `maxAttempts` sessions carried it, then fails; a pending command past its
// `expiresAt` expires unsent.
import { STATUS } from '../codec/syncml/codes.js';
import type { CommandNode, QueuedCommand, ResultItem, SentRef } from '../storage/commands.js';
import type { CommandWrite } from '../storage/dm-sessions.js';

interface Tracked {
  readonly attempts: number;
  /** In flight in this exchange's session before the exchange started. */
  readonly carriedHere: boolean;
  nodes: CommandNode[];
  write?: CommandWrite;
}

/** Accumulates the writes of one exchange, one per command touched. */
export class CommandWrites {
  private readonly tracked = new Map<string, Tracked>();

  constructor(
    private readonly at: string,
    private readonly sessionId: string,
  ) {}

  /** A command the exchange may touch: in flight (with its node records) or pending. */
  know(q: QueuedCommand, nodes: readonly CommandNode[] = [], carriedHere = false): void {
    if (!this.tracked.has(q.id))
      this.tracked.set(q.id, { attempts: q.attempts, carriedHere, nodes: [...nodes] });
  }

  private get(commandId: string): Tracked | undefined {
    return this.tracked.get(commandId);
  }

  private set(t: Tracked, commandId: string, change: Omit<CommandWrite, 'commandId'>): void {
    t.write = { ...t.write, ...change, commandId };
  }

  /** A node went out in this exchange. */
  sent(ref: SentRef): void {
    const t = this.get(ref.commandId);
    if (!t) return;
    t.nodes.push({
      ...ref,
      sessionId: this.sessionId,
      originalError: null,
      results: [],
      sentAt: this.at,
      answeredAt: null,
    });
    // One attempt per session that carries it (a chunk continuation or a re-send in the same
    // session is the same attempt).
    const first = !t.carriedHere && t.write?.state !== 'sent';
    this.set(t, ref.commandId, {
      state: 'sent',
      ...(first && { attempts: t.attempts + 1, carrier: 'session' as const, sentAt: this.at }),
      nodes: t.nodes,
    });
  }

  /** The device's Status for a node. */
  status(ref: SentRef, code: number, originalError?: string): void {
    const t = this.get(ref.commandId);
    if (!t) return;
    this.updateNode(t, ref, (n) => ({
      ...n,
      status: code,
      originalError: originalError ?? null,
      answeredAt: this.at,
    }));
    const done = ref.path === '' && code !== STATUS.CHUNK_ACCEPTED;
    this.set(t, ref.commandId, {
      state: done ? 'done' : (t.write?.state ?? 'sent'),
      nodes: t.nodes,
      ...(done && { statusCode: code, completedAt: this.at, carrier: null }),
    });
  }

  /** Results for a node (appended: a Get may be answered in several Results). */
  results(ref: SentRef, items: readonly ResultItem[]): void {
    const t = this.get(ref.commandId);
    if (!t) return;
    this.updateNode(t, ref, (n) => ({ ...n, results: [...n.results, ...items], answeredAt: this.at }));
    this.set(t, ref.commandId, { state: t.write?.state ?? 'sent', nodes: t.nodes });
  }

  /** The server gives up on a command (too large to send, …). */
  fail(commandId: string, reason: string): void {
    const t = this.get(commandId);
    if (!t) return;
    this.set(t, commandId, { state: 'failed', failureReason: reason, completedAt: this.at, carrier: null });
  }

  expire(commandId: string): void {
    const t = this.get(commandId);
    if (t) this.set(t, commandId, { state: 'expired', completedAt: this.at });
  }

  /**
   * Its session ended without the command's own Status: back to the queue, or failed once
   * `maxAttempts` sessions carried it.
   */
  unanswered(commandId: string, maxAttempts: number): 'pending' | 'failed' | undefined {
    const t = this.get(commandId);
    if (!t) return undefined;
    const state = t.write?.state ?? 'sent';
    if (state !== 'sent') return undefined;
    const attempts = t.write?.attempts ?? t.attempts;
    if (attempts >= maxAttempts) {
      this.set(t, commandId, {
        state: 'failed',
        failureReason: `no status from the device after ${attempts} attempts`,
        completedAt: this.at,
        carrier: null,
      });
      return 'failed';
    }
    this.set(t, commandId, { state: 'pending', carrier: null });
    return 'pending';
  }

  /** Current state of a tracked command as far as this exchange knows. */
  stateOf(commandId: string): CommandWrite['state'] | undefined {
    return this.get(commandId)?.write?.state;
  }

  all(): CommandWrite[] {
    const out: CommandWrite[] = [];
    for (const t of this.tracked.values()) if (t.write) out.push(t.write);
    return out;
  }

  private updateNode(t: Tracked, ref: SentRef, change: (n: CommandNode) => CommandNode): void {
    for (let i = t.nodes.length - 1; i >= 0; i--) {
      const n = t.nodes[i]!;
      if (n.sessionId === this.sessionId && n.msgId === ref.msgId && n.cmdId === ref.cmdId) {
        t.nodes[i] = change(n);
        return;
      }
    }
  }
}
