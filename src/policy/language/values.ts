// A setting's value as the admin wrote it (YAML scalar, list, `enabled` + `data`, or a file) → the
// string sent in SyncML `Data`, checked against the node's format and `MSFT:AllowedValues`
// (docs/protocol-notes.md#meta-format-and-locuri Meta Format, #policy-csp data formats).
import type { CatalogNode, EnumValue, NodeFormat } from '../../catalog/types.js';
import { parseXml, type XmlElement, XmlError } from '../../codec/xml.js';
import { type AdmxDataElement, admxPayload } from './admx.js';
import type { PolicyIssue, PolicyIssueCode, SourcePosition } from './errors.js';
import type { Located, ParsedSetting, ParsedValue, ScalarValue } from './parse.js';

export type WireValue =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly issues: readonly PolicyIssue[] };

export interface ValueContext {
  readonly node: CatalogNode;
  /** Format the value is sent in (the node's, or `chr` for ingested ADMX policies). */
  readonly format: NodeFormat;
  /** ADMX-backed (catalog `allowed.kind === 'admx'`, or a policy of an ingested ADMX file). */
  readonly admx: boolean;
  /** The setting's name as the admin wrote it, for messages. */
  readonly name: string;
  readonly setting: ParsedSetting;
  /** Contents of the setting's `file`, when it has one. */
  readonly fileBytes?: Buffer;
  /** Path the file was read from: problems inside it are reported at its own `file:line:col`. */
  readonly filePath?: string;
}

/**
 * `Policy/ConfigOperations/ADMXInstall/{AppName}/{SettingsType}/{AdmxFileId}` takes an ADMX file
 * (Microsoft Learn, "Win32 and Desktop Bridge app ADMX policy ingestion"): XML whose root is
 * `policyDefinitions`.
 */
const ADMX_INSTALL_RE = /\/Policy\/ConfigOperations\/ADMXInstall\/\{[^}]+\}\/\{[^}]+\}\/\{[^}]+\}$/;

/**
 * A chr node whose value is an XML document although its DDF says only chr: the node is named
 * `…Xml` (the WiFi CSP's `WlanXml`: "the XML describing the network configuration", Microsoft
 * Learn, WiFi CSP), or the file it comes from is `.xml`, `.admx` or `.adml`.
 */
function isXmlPayload(ctx: ValueContext): boolean {
  return /Xml$/.test(ctx.node.path) || /\.(xml|admx|adml)$/i.test(ctx.filePath ?? '');
}

/** Largest XML payload read from a file (an ADMX file of a large app runs to a few MiB). */
const MAX_XML_FILE_BYTES = 8 * 1024 * 1024;

class ValueProblem extends Error {
  constructor(
    readonly code: PolicyIssueCode,
    message: string,
    readonly pos?: SourcePosition,
  ) {
    super(message);
  }
}

function fail(code: PolicyIssueCode, message: string, pos?: SourcePosition): never {
  throw new ValueProblem(code, message, pos);
}

function shown(value: unknown): string {
  if (Array.isArray(value)) return `the list [${value.map(shown).join(', ')}]`;
  return typeof value === 'string' ? `"${value}"` : String(value);
}

/** The value text exactly as written (`0123` stays `0123`), for string-typed nodes. */
function scalarText(v: Located<ScalarValue>): string {
  return typeof v.value === 'string' ? v.value : (v.source ?? String(v.value));
}

function describeEnum(values: readonly EnumValue[]): string {
  return values
    .map((e) => {
      const d = e.description?.trim();
      if (!d || d === e.value) return e.value;
      return `${e.value} (${d.length > 40 ? `${d.slice(0, 37)}…` : d})`;
    })
    .join(', ');
}

const normalizeName = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/** An ENUM/flag value by its value or by its description ("ENUM names"), unambiguously. */
function enumByName(values: readonly EnumValue[], input: string): EnumValue | undefined {
  const exact = values.find((e) => e.value === input);
  if (exact) return exact;
  const wanted = normalizeName(input);
  if (wanted === '') return undefined;
  const named = values.filter((e) => e.description && normalizeName(e.description) === wanted);
  return named.length === 1 ? named[0] : undefined;
}

/** Compute the wire value, or the problems with it (each at the offending value). */
export function wireValue(ctx: ValueContext): WireValue {
  const setting = ctx.setting;
  const at = setting.value?.pos ?? setting.file?.pos ?? setting.path.pos;
  try {
    if (setting.data !== undefined && !ctx.admx) {
      fail(
        'admx-value',
        `${ctx.name} is not ADMX-backed; \`data\` only applies to ADMX-backed policies`,
        setting.dataPos,
      );
    }
    const value = ctx.admx ? admxValue(ctx) : typedValue(ctx);
    return { ok: true, value };
  } catch (err) {
    if (!(err instanceof ValueProblem)) throw err;
    const pos = err.pos ?? at;
    return { ok: false, issues: [{ ...pos, code: err.code, severity: 'error', message: err.message }] };
  }
}

function admxValue(ctx: ValueContext): string {
  const v = ctx.setting.value;
  const state = v && typeof v.value === 'string' ? v.value.trim().toLowerCase() : undefined;
  if (state !== 'enabled' && state !== 'disabled') {
    fail(
      'admx-value',
      `${ctx.name} is ADMX-backed: set \`value\` to \`enabled\` (with its \`data\` elements) or \`disabled\`; ` +
        `got ${v ? shown(v.value) : 'a file'}`,
    );
  }
  if (state === 'disabled' && ctx.setting.data && ctx.setting.data.length > 0) {
    fail(
      'admx-value',
      `${ctx.name}: \`data\` only applies when the policy is \`enabled\``,
      ctx.setting.dataPos,
    );
  }
  for (const d of ctx.setting.data ?? []) {
    if (String(d.id.value).trim() === '') {
      fail(
        'admx-value',
        `${ctx.name}: a data element needs an id (the element id from the ADMX file)`,
        d.id.pos,
      );
    }
  }
  const data: AdmxDataElement[] = (ctx.setting.data ?? []).map((d) => ({
    id: String(d.id.value),
    value: d.value.items ? d.value.items.map(scalarText) : scalarText(d.value as Located<ScalarValue>),
  }));
  return admxPayload(state, data);
}

function single(ctx: ValueContext, v: ParsedValue): Located<ScalarValue> {
  if (v.items)
    fail('wrong-type', `${ctx.name} takes a single value (format ${ctx.format}); got a list`, v.pos);
  return v as Located<ScalarValue>;
}

function fileText(ctx: ValueContext): string {
  return ctx.fileBytes!.toString('utf8').replace(/^\uFEFF/, '');
}

function typedValue(ctx: ValueContext): string {
  const { format, setting } = ctx;
  const v = setting.value;
  switch (format) {
    case 'int':
      if (!v)
        fail('wrong-type', `${ctx.name} takes an integer (format int); give it as \`value\`, not a file`);
      return intValue(ctx, v);
    case 'bool': {
      if (!v) fail('wrong-type', `${ctx.name} takes true or false (format bool); give it as \`value\``);
      const s = single(ctx, v);
      if (typeof s.value === 'boolean') return String(s.value);
      if (s.value === 'true' || s.value === 'false') return s.value;
      return fail(
        'wrong-type',
        `${ctx.name} takes true or false (format bool); got ${shown(s.value)}`,
        s.pos,
      );
    }
    case 'float': {
      const s = v ? single(ctx, v) : undefined;
      if (s && typeof s.value === 'number') return s.source ?? String(s.value);
      return fail(
        'wrong-type',
        `${ctx.name} takes a number (format float); got ${s ? shown(s.value) : 'a file'}`,
      );
    }
    case 'b64':
      return b64Value(ctx);
    case 'xml': {
      const text = v ? scalarText(single(ctx, v)) : fileText(ctx);
      checkXml(ctx, text);
      return text;
    }
    case 'chr': {
      const text = stringValue(ctx);
      if (ctx.fileBytes && ADMX_INSTALL_RE.test(ctx.node.path)) checkAdmxFile(ctx, text);
      else if (ctx.fileBytes && isXmlPayload(ctx)) checkXml(ctx, text);
      return text;
    }
    case 'date':
    case 'time':
      return stringValue(ctx);
    case 'node':
      return fail('not-writable', `${ctx.name} is an interior node; set one of the settings under it`);
    default:
      return fail(
        'not-writable',
        `${ctx.name} has format ${format}, which carries no value a policy can set`,
      );
  }
}

function toInteger(ctx: ValueContext, item: Located<ScalarValue>, enums?: readonly EnumValue[]): number {
  const { value } = item;
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return value;
    fail('wrong-type', `${ctx.name} takes an integer (format int); got ${value}`, item.pos);
  }
  if (typeof value === 'string') {
    if (/^-?\d+$/.test(value.trim())) return Number(value.trim());
    const named = enums ? enumByName(enums, value) : undefined;
    if (named) return Number(named.value);
    if (enums) {
      fail('value-enum', `${ctx.name} must be one of ${describeEnum(enums)}; got ${shown(value)}`, item.pos);
    }
  }
  const hint = typeof value === 'boolean' ? ` (write ${value ? 1 : 0} if that is what you mean)` : '';
  return fail(
    'wrong-type',
    `${ctx.name} takes an integer (format int); got ${shown(value)}${hint}`,
    item.pos,
  );
}

function intValue(ctx: ValueContext, v: ParsedValue): string {
  const allowed = ctx.node.allowed;
  if (allowed?.kind === 'flag') {
    const items = v.items ?? [v as Located<ScalarValue>];
    let mask = 0;
    let all = 0;
    for (const f of allowed.values) all |= Number(f.value);
    for (const item of items) {
      const n = toInteger(ctx, item, allowed.values);
      if ((n & ~all) !== 0 || n < 0) {
        fail(
          'value-enum',
          `${ctx.name} takes a combination of the flags ${describeEnum(allowed.values)}; got ${n}`,
          item.pos,
        );
      }
      mask |= n;
    }
    return String(mask);
  }
  const item = single(ctx, v);
  const enums = allowed?.kind === 'enum' ? allowed.values : undefined;
  const n = toInteger(ctx, item, enums);
  if (enums && !enums.some((e) => Number(e.value) === n)) {
    fail(
      'value-enum',
      `${ctx.name} must be one of ${describeEnum(enums)}; got ${shown(item.value)}`,
      item.pos,
    );
  }
  if (allowed?.kind === 'range' && (n < allowed.min || n > allowed.max)) {
    fail(
      'value-range',
      `${ctx.name} must be between ${allowed.min} and ${allowed.max} (allowed range ${allowed.raw}); got ${n}`,
      item.pos,
    );
  }
  return String(n);
}

function stringValue(ctx: ValueContext): string {
  const { setting, node, format } = ctx;
  const v = setting.value;
  let text: string;
  let pos: SourcePosition | undefined;
  if (v) {
    const s = single(ctx, v);
    text = scalarText(s);
    pos = s.pos;
  } else text = fileText(ctx);
  const allowed = node.allowed;
  if (allowed?.kind === 'enum' && allowed.values.length > 0) {
    const match = enumByName(allowed.values, text);
    if (!match) {
      fail(
        'value-enum',
        `${ctx.name} must be one of ${describeEnum(allowed.values)}; got ${shown(text)}`,
        pos,
      );
    }
    text = match.value;
  } else if (allowed?.kind === 'regex') {
    let re: RegExp | undefined;
    try {
      re = new RegExp(`^(?:${allowed.pattern})$`);
    } catch {
      re = undefined; // a pattern JavaScript cannot compile is not checked
    }
    if (re && !re.test(text)) {
      fail('value-pattern', `${ctx.name} must match the pattern ${allowed.pattern}; got ${shown(text)}`, pos);
    }
  } else if (allowed?.kind === 'xsd') {
    checkXml(ctx, text, pos);
  } else if (allowed?.kind === 'json') {
    try {
      JSON.parse(text);
    } catch (err) {
      fail(
        'value-format',
        `${ctx.name} takes JSON; the value is not valid JSON: ${(err as Error).message}`,
        pos,
      );
    }
  }
  if (format === 'date' && !/^\d{4}-\d{2}-\d{2}/.test(text)) {
    fail(
      'value-format',
      `${ctx.name} takes an ISO 8601 date such as 2025-10-25 (format date); got ${shown(text)}`,
      pos,
    );
  }
  if (format === 'time' && !/^\d{2}:\d{2}(:\d{2})?/.test(text)) {
    fail(
      'value-format',
      `${ctx.name} takes an ISO 8601 time such as 18:00:00 (format time); got ${shown(text)}`,
      pos,
    );
  }
  return text;
}

function checkXml(ctx: ValueContext, text: string, pos?: SourcePosition): XmlElement {
  try {
    return parseXml(text, { maxBytes: MAX_XML_FILE_BYTES });
  } catch (err) {
    if (!(err instanceof XmlError)) throw err;
    return fail(
      'value-format',
      `${ctx.name} takes an XML document; the value is not well-formed XML: ${err.message}`,
      pos ?? inFile(ctx, err.line, err.col),
    );
  }
}

/** A position inside the setting's file (a payload's own line and column), when it has one. */
function inFile(ctx: ValueContext, line?: number, col?: number): SourcePosition | undefined {
  if (!ctx.filePath || !ctx.fileBytes) return undefined;
  return { file: ctx.filePath, line: Math.max(line ?? 1, 1), col: Math.max(col ?? 1, 1) };
}

function checkAdmxFile(ctx: ValueContext, text: string): void {
  const root = checkXml(ctx, text);
  if (root.local !== 'policyDefinitions') {
    fail(
      'value-format',
      `${ctx.name} takes an ADMX file, whose root element is policyDefinitions; got ${root.local}`,
      inFile(ctx),
    );
  }
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function b64Value(ctx: ValueContext): string {
  if (ctx.fileBytes) return ctx.fileBytes.toString('base64');
  const s = single(ctx, ctx.setting.value!);
  const text = typeof s.value === 'string' ? s.value.replace(/\s+/g, '') : '';
  if (text === '' || !BASE64_RE.test(text)) {
    fail(
      'value-format',
      `${ctx.name} takes base64 data (format b64); got ${shown(s.value)}, which is not base64 ` +
        '(use `file:` to send a file, it is encoded for you)',
      s.pos,
    );
  }
  return text;
}
