// The push service as the CLI uses it: same configuration and database as the server, so a push
// the CLI sends is recorded where the server (and its due timer) sees it. A push that is coalesced
// here is sent by the server when its window ends.
import type { Config } from '../config.js';
import { silentLogger } from '../logger.js';
import { createPushService, type PushService } from '../push/service.js';
import type { Storage } from '../storage/index.js';

export function cliPush(config: Config, storage: Storage): PushService {
  return createPushService({ config, storage, logger: silentLogger() });
}
