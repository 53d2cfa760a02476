import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PolicySchema, policyJsonSchema, policyJsonSchemaText } from '../../src/policy/language/schema.js';
import { POLICY_SCHEMA_FILE } from '../../src/policy/language/write-schema.js';

describe('policy JSON Schema for editors', () => {
  it('the committed csp-catalog/policy.schema.json is generated from the zod schema', () => {
    const committed = readFileSync(POLICY_SCHEMA_FILE, 'utf8');
    // Regenerate with: npx tsx src/policy/language/write-schema.ts
    expect(committed).toBe(policyJsonSchemaText());
  });

  it('describes the policy document: required keys, closed objects, documented fields', () => {
    const schema = policyJsonSchema() as {
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, { description?: string }>;
    };
    expect(schema.required).toEqual(['name']);
    expect(schema.additionalProperties).toBe(false);
    for (const key of Object.keys(PolicySchema.shape)) {
      expect(schema.properties[key], key).toBeDefined();
    }
    expect(schema.properties.settings?.description).toMatch(/settings/);
  });
});
