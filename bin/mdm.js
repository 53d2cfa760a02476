#!/usr/bin/env node
// The `mdm` command: runs the compiled CLI (built by `npm install` through the `prepare` script).
import { main } from '../dist/src/cli/index.js';

main(process.argv).catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
