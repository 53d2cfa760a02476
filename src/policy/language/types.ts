// What the policy compiler hands to delivery: one plan per (policy, setting), with the commands
// that apply, verify and remove the setting on a device (docs/protocol-notes.md#policy-csp).
import type { CatalogNode } from '../../catalog/types.js';
import type { DmCommand, DmFormat } from '../../shared/dm-command.js';
import type { AppPlan } from '../apps/types.js';
import type { CertificateProfilePlan } from './certificates.js';

export interface SettingPlan {
  /** Node path written to the device (canonical `./Device/…` / `./User/…` / rootless form). */
  readonly path: string;
  readonly scope: 'device' | 'user' | 'rootless';
  /** Value as sent in `Data` (already in wire form: `1`, `true`, an ADMX `<enabled/>…` payload …). */
  readonly value: string;
  readonly format: DmFormat;
  readonly type?: string;
  readonly node: CatalogNode;
  /** First delivery (`Add` for Policy CSP) and later deliveries (`Replace`); equal where the CSP takes one verb. */
  readonly apply: { readonly first: DmCommand; readonly update: DmCommand };
  /** Path read back to verify (Policy CSP: `…/Policy/Result/…`) and the Get that reads it. */
  readonly verifyPath: string;
  readonly verify: DmCommand;
  /** False when the node has no Get (write-only secrets): the verify Get would fail with 405. */
  readonly verifiable?: boolean;
  /** Delete that removes the setting, when the node supports Delete. */
  readonly remove?: DmCommand;
}

export interface CompiledPolicy {
  readonly name: string;
  readonly description?: string;
  /** Source file the policy came from. */
  readonly file: string;
  readonly settings: readonly SettingPlan[];
  /** When true the apply commands of this policy are sent inside one Atomic. */
  readonly atomic: boolean;
  /** Applications to install (absent in sets stored before apps existed, and when none). */
  readonly apps?: readonly AppPlan[];
  /**
   * SCEP certificate profiles (absent in sets stored before profiles were delivered, and when
   * none): their Install nodes are in `settings` (checked like any other) but are delivered by
   * delivery/certificate-profiles.ts, with a challenge per device and the Enroll Exec.
   */
  readonly certificates?: readonly CertificateProfilePlan[];
}
