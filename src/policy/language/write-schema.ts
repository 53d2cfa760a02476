// Regenerates csp-catalog/policy.schema.json from the zod schema: `npx tsx src/policy/language/write-schema.ts`.
// test/policy/schema.test.ts fails while the committed file differs.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { policyJsonSchemaText } from './schema.js';

export const POLICY_SCHEMA_FILE = join(
  dirname(fileURLToPath(import.meta.url)),
  '../../../csp-catalog/policy.schema.json',
);

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(POLICY_SCHEMA_FILE, policyJsonSchemaText());
  console.log(`wrote ${POLICY_SCHEMA_FILE}`);
}
