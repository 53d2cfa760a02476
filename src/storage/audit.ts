// Audit log of administrative actions (who, what, when).

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
  record(entry: AuditEntryInput): Promise<AuditEntry>;
  /** Newest first. */
  list(options?: AuditListOptions): Promise<AuditEntry[]>;
}
