// The `mdm` command line from the sources (through the tsx loader), for tests that run it as a
// separate process beside a server: `node --import tsx test/support/mdm-cli.ts <args…>`.
import { main } from '../../src/cli/index.js';

main(process.argv).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
