// Extension points of the session engine: the contract in src/shared/dm-hooks.ts, bound to the
// engine's transaction type (`Storage`).
import type { HookContext as Context, DmHooks as Hooks } from '../shared/dm-hooks.js';
import type { Storage } from '../storage/index.js';

export type { CheckIn, CommandOutcome, FollowUpCommand } from '../shared/dm-hooks.js';
export type DmHooks = Hooks<Storage>;
export type HookContext = Context<Storage>;
