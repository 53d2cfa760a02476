// Reading the delivery and compliance YAML files (assignments, groups, compliance rules) with
// positions: every problem is reported as `file:line:col` like the policy files themselves.
import ms, { type StringValue } from 'ms';
import { isMap, isNode, isScalar, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import type { PolicyIssue, SourcePosition } from './errors.js';

/** Where a value sits in the file (the nearest existing node along the path). */
export type Locate = (path: readonly (string | number)[]) => SourcePosition;

export type ParsedYaml<T> = {
  readonly value?: T;
  readonly issues: readonly PolicyIssue[];
  readonly locate: Locate;
};

/** Parse `text` and validate it with `schema`; issues point at the offending key or value. */
export function parseYamlWith<T>(file: string, text: string, schema: z.ZodType<T>): ParsedYaml<T> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const pos = lineCounter.linePos(offset);
    return { file, line: pos.line, col: pos.col };
  };
  const locate: Locate = (path) => {
    const node = nearestNode(doc, [...path]);
    return node?.range ? at(node.range[0]) : { file, line: 1, col: 1 };
  };
  if (doc.errors.length > 0) {
    return {
      locate,
      issues: doc.errors.map((e) => ({
        ...at(e.pos[0]),
        code: 'yaml-syntax' as const,
        severity: 'error' as const,
        message: e.message.split('\n')[0]!,
      })),
    };
  }
  const result = schema.safeParse(doc.toJS() ?? {});
  if (result.success) return { value: result.data, issues: [], locate };
  return {
    locate,
    issues: result.error.issues.flatMap((issue) => {
      const path = issue.path as (string | number)[];
      const prefix = path.length ? `${path.join('.')}: ` : '';
      const problem = (where: SourcePosition, message: string) => ({
        ...where,
        code: 'schema' as const,
        severity: 'error' as const,
        message: prefix + message,
      });
      // Each unknown key is reported at the key itself, not at the enclosing mapping.
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((k) =>
          problem(keyPosition(doc, path, k) ?? locate(path), `unknown key \`${k}\``),
        );
      }
      return [problem(locate(path), issue.message)];
    }),
  };
  function keyPosition(d: typeof doc, mapPath: (string | number)[], key: string) {
    const map = mapPath.length ? d.getIn(mapPath, true) : d.contents;
    if (!isMap(map)) return undefined;
    const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
    return isScalar(pair?.key) && pair.key.range ? at(pair.key.range[0]) : undefined;
  }
}

/** The deepest node along `path` that exists in the document. */
function nearestNode(doc: ReturnType<typeof parseDocument>, path: (string | number)[]) {
  for (let n = path.length; n > 0; n--) {
    const node = doc.getIn(path.slice(0, n), true);
    if (isNode(node)) return node;
  }
  return isNode(doc.contents) ? doc.contents : undefined;
}

/**
 * `90s`, `30m`, `24h`, `7d` (any unit of the `ms` package: `2w`, `1.5h`, `10 minutes`) or a number of
 * seconds → milliseconds; undefined when it is not a non-negative duration.
 */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return value >= 0 ? value * 1000 : undefined;
  const text = value.trim();
  if (/^\d+(?:\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (text === '' || text.length > 100) return undefined;
  const parsed = ms(text as StringValue) as number | undefined;
  return parsed !== undefined && Number.isFinite(parsed) && parsed >= 0 ? Math.round(parsed) : undefined;
}
