// Human-readable rendering of catalog nodes (used by `mdm catalog show` and `search`).
import type { AllowedValues, CatalogNode } from './types.js';

const MAX_EDITIONS_SHOWN = 12;

export function describeAllowed(allowed: AllowedValues | undefined): string | undefined {
  if (!allowed) return undefined;
  switch (allowed.kind) {
    case 'enum':
    case 'flag': {
      const values = allowed.values.map((v) => (v.description ? `${v.value} = ${v.description}` : v.value));
      return `${allowed.kind === 'flag' ? 'flags (combine by adding)' : 'one of'}:\n    ${values.join('\n    ')}`;
    }
    case 'range':
      return `integer in ${allowed.raw} (${allowed.min} … ${allowed.max})`;
    case 'regex':
      return `matches /${allowed.pattern}/`;
    case 'admx': {
      const where = [allowed.admxFile, allowed.category, allowed.policy].filter(Boolean).join(' · ');
      return `ADMX-backed (${where}); data is <enabled/> with <data id=… value=…/> elements, or <disabled/>`;
    }
    case 'none':
      return undefined;
    default:
      return `${allowed.kind.toUpperCase()} document${allowed.raw ? ` (${allowed.raw.length} characters of schema)` : ''}`;
  }
}

/** Multi-line description of one node, children listed by last segment. */
export function describeNode(node: CatalogNode, children: readonly CatalogNode[] = []): string {
  const lines = [node.path];
  const field = (label: string, value: string | undefined) => {
    if (value !== undefined && value !== '') lines.push(`  ${label.padEnd(12)}${value}`);
  };
  field('aliases', node.aliases?.join(', '));
  field('csp', node.area ? `${node.csp} (area ${node.area})` : node.csp);
  field('scope', node.scope);
  field('format', node.mime ? `${node.format} (${node.mime})` : node.format);
  field('access', node.access.join(', '));
  if (node.dynamic) {
    const names = node.path.split('/').filter((segment) => /^\{.+\}$/.test(segment));
    field('dynamic', `${names.join(', ')}: replace with the instance name when setting it`);
  }
  field('default', node.defaultValue);
  field('allowed', describeAllowed(node.allowed));
  const app = node.applicability;
  if (app) {
    field('min OS', app.osBuilds ? `${app.minOsBuild} (builds ${app.osBuilds.join(', ')})` : app.minOsBuild);
    field('CSP version', app.cspVersion);
    if (app.editions) {
      const shown = app.editions.slice(0, MAX_EDITIONS_SHOWN).join(', ');
      const more = app.editions.length - MAX_EDITIONS_SHOWN;
      field('editions', more > 0 ? `${shown}, … (${app.editions.length} in all)` : shown);
    }
    if (app.deprecatedIn !== undefined) field('deprecated', app.deprecatedIn || 'yes');
  }
  for (const dep of node.dependencies ?? []) {
    const required = `${dep.value ? ` = ${dep.value}` : ''}${dep.valueType ? ` (${dep.valueType})` : ''}`;
    const changed = dep.changedAllowed ? `; then allowed: ${describeAllowed(dep.changedAllowed)}` : '';
    field(dep.type, `${dep.path}${required}${changed}`);
  }
  field('occurrence', node.occurrence);
  field('conflicts', node.conflictResolution);
  if (node.gpMapping)
    field('group policy', [node.gpMapping.areaPath, node.gpMapping.name].filter(Boolean).join(' / '));
  field('derived from', node.derivedFrom);
  field('source', node.source);
  if (node.description) lines.push('', indent(node.description));
  if (children.length > 0) {
    lines.push('', `  children (${children.length}):`);
    for (const child of children)
      lines.push(`    ${child.path.slice(child.path.lastIndexOf('/') + 1)}  [${child.format}]`);
  }
  return lines.join('\n');
}

/** One line per search hit: path, format, access, first sentence of the description. */
export function describeHit(node: CatalogNode, width = 100): string {
  const summary = (node.description ?? '').split('\n')[0]!;
  const head = `${node.path}  [${node.format}; ${node.access.join(',')}]`;
  const room = width - head.length - 3;
  if (room < 20 || summary === '') return head;
  return `${head} — ${summary.length > room ? `${summary.slice(0, room - 1)}…` : summary}`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
