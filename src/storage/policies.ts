// Stored policy versions. `mdm policy apply` (and the server on start) stores a validated policy
// folder as one unit: a policy whose content hash changed gets a new version, a policy that left
// the folder is deactivated, and the folder's assignment/compliance configuration is kept with a
// revision number. Bodies are JSON owned by the policy layer (a compiled policy, the config).

export interface PolicyVersion {
  readonly name: string;
  readonly version: number;
  readonly hash: string;
  /** Source file, relative to the policy folder. */
  readonly file: string;
  readonly body: unknown;
  /** ISO-8601 UTC. */
  readonly createdAt: string;
}

export interface PolicySetInput {
  readonly policies: readonly {
    readonly name: string;
    readonly hash: string;
    readonly file: string;
    readonly body: unknown;
  }[];
  /** Assignment and compliance configuration of the folder. */
  readonly config: unknown;
  /** Hash over the whole folder; an apply with the hash of the current revision stores nothing. */
  readonly hash: string;
  /** Human summary of the plan (kept with the revision for audit). */
  readonly summary: unknown;
  /** The folder's YAML files (relative name → text), so the folder can be read back and edited. */
  readonly files?: Readonly<Record<string, string>>;
  /** The side files its `file:` values read inside the folder (relative name → contents). */
  readonly sideFiles?: Readonly<Record<string, SideFile>>;
}

/** A side file's contents: UTF-8 text as text (XML, ADMX, PEM), anything else as base64. */
export type SideFile = { readonly text: string } | { readonly base64: string };

export interface PolicyChange {
  readonly name: string;
  readonly change: 'added' | 'changed' | 'removed';
  readonly version: number;
}

export interface StoredPolicySet {
  /** 0 when nothing was ever applied. */
  readonly revision: number;
  readonly hash: string | null;
  readonly policies: readonly PolicyVersion[];
  readonly config: unknown;
  readonly appliedAt: string | null;
}

/** A policy name with its current version; inactive once it left the folder. */
export interface PolicyHead {
  readonly name: string;
  readonly version: number;
  readonly active: boolean;
  readonly updatedAt: string;
}

/** One stored revision of the policy folder. */
export interface PolicyRevision {
  readonly revision: number;
  readonly hash: string;
  readonly config: unknown;
  /** The plan it was stored with. */
  readonly summary: unknown;
  readonly createdAt: string;
}

export interface PolicyStore {
  /**
   * Stores a policy folder in one transaction: new versions for added/changed policies, removed
   * policies deactivated, a new revision. Returns the policy changes; `created` is false (and the
   * revision the current one) when the folder hash equals the current one.
   */
  applyPolicySet(
    set: PolicySetInput,
    at: string,
  ): Promise<{ revision: number; created: boolean; changes: PolicyChange[] }>;
  /** Number of the latest revision (0 when nothing was applied); cheap, checked at every check-in. */
  currentRevision(): Promise<number>;
  /** The active policies (current versions) and configuration. */
  currentPolicySet(): Promise<StoredPolicySet>;
  /** Every stored version of one policy, oldest first. */
  policyVersions(name: string): Promise<PolicyVersion[]>;
  /** Every policy ever stored, by name. */
  listPolicyHeads(): Promise<PolicyHead[]>;
  /** Revisions, newest first. */
  listRevisions(): Promise<PolicyRevision[]>;
  getRevision(revision: number): Promise<PolicyRevision | undefined>;
  /** The YAML files a revision was stored with; undefined for an unknown revision or one stored without them. */
  revisionFiles(revision: number): Promise<Record<string, string> | undefined>;
  /** The side files a revision was stored with (empty when it had none or predates them). */
  revisionSideFiles(revision: number): Promise<Record<string, SideFile>>;
}
