// The queue rows one exchange changes, worked out from what the machine did (pure). Protocol rules
// of the queue live here, not in storage (MS-MDM 2.2; OMA-DM 1.2 SyncML Rep Pro §8.2 statuses):
// a sent command is `sent` until its own Status arrives; 213 only acknowledges one chunk of a large
// object (the final status follows); a command answered by no Status when its session ends goes
// back to the queue until `maxAttempts` sessions carried it, then fails; a pending command past its
// `expiresAt` expires unsent.
import { STATUS } from '../codec/syncml/codes.js';
import type { CommandNode, ResultItem, SentRef } from '../storage/commands.js';
import type { CommandWrite, OpenCommand } from '../storage/dm-sessions.js';

interface Tracked {
  /** In flight in this exchange's session before the exchange started. */
  readonly carriedHere: boolean;
  /** The row as loaded, then as this exchange changes it. */
  row: CommandWrite;
  changed: boolean;
}

/** What a command needs to be tracked: a loaded open command, or one this exchange enqueues. */
export type KnownCommand = Pick<OpenCommand, 'id' | 'attempts'> &
  Partial<Pick<OpenCommand, 'state' | 'nodes' | 'sentAt'>>;

/** Accumulates the writes of one exchange, one full row per command touched. */
export class CommandWrites {
  private readonly tracked = new Map<string, Tracked>();

  constructor(
    private readonly at: string,
    private readonly sessionId: string,
  ) {}

  /** A command the exchange may touch. */
  know(q: KnownCommand, carriedHere = false): void {
    if (this.tracked.has(q.id)) return;
    this.tracked.set(q.id, {
      carriedHere,
      changed: false,
      row: {
        commandId: q.id,
        state: q.state ?? 'pending',
        statusCode: null,
        failureReason: null,
        attempts: q.attempts,
        carrier: q.state === 'sent' ? 'session' : null,
        nodes: q.nodes ?? [],
        sentAt: q.sentAt ?? null,
        completedAt: null,
      },
    });
  }

  private change(t: Tracked, change: Partial<Omit<CommandWrite, 'commandId'>>): void {
    t.row = { ...t.row, ...change };
    t.changed = true;
  }

  /** A node went out in this exchange. */
  sent(ref: SentRef): void {
    const t = this.tracked.get(ref.commandId);
    if (!t) return;
    const node: CommandNode = {
      ...ref,
      sessionId: this.sessionId,
      originalError: null,
      results: [],
      sentAt: this.at,
      answeredAt: null,
    };
    // One attempt per session that carries it (a chunk continuation or a re-send in the same
    // session is the same attempt).
    const first = !t.carriedHere && t.row.state !== 'sent';
    this.change(t, {
      state: 'sent',
      nodes: [...t.row.nodes, node],
      carrier: 'session',
      ...(first && { attempts: t.row.attempts + 1, sentAt: this.at }),
    });
  }

  /** The device's Status for a node. */
  status(ref: SentRef, code: number, originalError?: string): void {
    const t = this.tracked.get(ref.commandId);
    if (!t) return;
    const nodes = this.updateNode(t, ref, (n) => ({
      ...n,
      status: code,
      originalError: originalError ?? null,
      answeredAt: this.at,
    }));
    const done = ref.path === '' && code !== STATUS.CHUNK_ACCEPTED;
    this.change(t, {
      nodes,
      ...(done && { state: 'done', statusCode: code, completedAt: this.at, carrier: null }),
    });
  }

  /** The device's code for one node whose command does not complete with it (a broken chunk). */
  nodeStatus(ref: SentRef, code: number, originalError?: string): void {
    const t = this.tracked.get(ref.commandId);
    if (!t) return;
    this.change(t, {
      nodes: this.updateNode(t, ref, (n) => ({
        ...n,
        status: code,
        originalError: originalError ?? null,
        answeredAt: this.at,
      })),
    });
  }

  /** Results for a node (appended: a Get may be answered in several Results). */
  results(ref: SentRef, items: readonly ResultItem[]): void {
    const t = this.tracked.get(ref.commandId);
    if (!t) return;
    this.change(t, {
      nodes: this.updateNode(t, ref, (n) => ({
        ...n,
        results: [...n.results, ...items],
        answeredAt: this.at,
      })),
    });
  }

  /** The server gives up on a command (too large to send, …). */
  fail(commandId: string, reason: string): void {
    const t = this.tracked.get(commandId);
    if (t) this.change(t, { state: 'failed', failureReason: reason, completedAt: this.at, carrier: null });
  }

  expire(commandId: string): void {
    const t = this.tracked.get(commandId);
    if (t) this.change(t, { state: 'expired', completedAt: this.at, carrier: null });
  }

  /**
   * Its session ended without the command's own Status: back to the queue, or failed once
   * `maxAttempts` sessions carried it.
   */
  unanswered(commandId: string, maxAttempts: number): 'pending' | 'failed' | undefined {
    const t = this.tracked.get(commandId);
    if (t?.row.state !== 'sent') return undefined;
    if (t.row.attempts >= maxAttempts) {
      this.change(t, {
        state: 'failed',
        failureReason: `no status from the device after ${t.row.attempts} attempts`,
        completedAt: this.at,
        carrier: null,
      });
      return 'failed';
    }
    this.change(t, { state: 'pending', carrier: null });
    return 'pending';
  }

  /** The rows to write: every command this exchange changed. */
  all(): CommandWrite[] {
    const out: CommandWrite[] = [];
    for (const t of this.tracked.values()) if (t.changed) out.push(t.row);
    return out;
  }

  private updateNode(t: Tracked, ref: SentRef, change: (n: CommandNode) => CommandNode): CommandNode[] {
    const nodes = [...t.row.nodes];
    for (let i = nodes.length - 1; i >= 0; i--) {
      const n = nodes[i]!;
      if (n.sessionId === this.sessionId && n.msgId === ref.msgId && n.cmdId === ref.cmdId) {
        nodes[i] = change(n);
        break;
      }
    }
    return nodes;
  }
}
