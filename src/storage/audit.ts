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

export interface AuditLog {
  record(entry: AuditEntryInput): Promise<AuditEntry>;
  /** Newest first. */
  list(options?: { readonly deviceId?: string; readonly limit?: number }): Promise<AuditEntry[]>;
}
