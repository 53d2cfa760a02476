// Audit log of administrative actions (who, what, when), and its delivery to a SIEM.

export interface AuditEntryInput {
  /** OS user or `--actor`. */
  readonly actor: string;
  /** Dotted action name, e.g. `commands.add`, `devices.wipe`. */
  readonly action: string;
  readonly deviceId?: string;
  /** Action details (command ids, LocURIs); never secrets. */
  readonly details: Readonly<Record<string, unknown>>;
}

export interface AuditEntry extends AuditEntryInput {
  readonly id: number;
  /** ISO-8601 UTC. */
  readonly at: string;
}

export interface AuditListOptions {
  readonly deviceId?: string;
  readonly actor?: string;
  /** An action name, or a prefix ending in `.` (e.g. `devices.`). */
  readonly action?: string;
  /** ISO-8601 bounds on `at` (since inclusive, until exclusive). */
  readonly since?: string;
  readonly until?: string;
  /** Only entries with a smaller id (the next page when listing newest first). */
  readonly beforeId?: number;
  /** Default 50. */
  readonly limit?: number;
}

export interface AuditLog {
  /**
   * Appends an entry. Entries become visible in id order (PostgreSQL: appends are serialised by a
   * transaction-level lock), so a reader that remembers the last id it took never skips one.
   */
  record(entry: AuditEntryInput): Promise<AuditEntry>;
  /** Newest first. */
  list(options?: AuditListOptions): Promise<AuditEntry[]>;
  /** Oldest first: entries with `id > afterId`, optionally from `since` (ISO) on and before `until`. */
  after(
    afterId: number,
    options: { readonly limit: number; readonly since?: string; readonly until?: string },
  ): Promise<AuditEntry[]>;
  /** The newest id (0 when empty). */
  lastId(): Promise<number>;
  /** Where a destination stands: the last id it took, or undefined for a new destination. */
  deliveredUpTo(sink: string): Promise<number | undefined>;
  markDelivered(sink: string, lastId: number): Promise<void>;
  /** Deletes up to `limit` entries older than `before` (ISO); resolves with the count. */
  pruneBefore(before: string, limit: number): Promise<number>;
}
