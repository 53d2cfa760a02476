// Per-device values in policy settings: `{{device.id}}`, `{{device.name}}`, `{{device.serial}}`,
// `{{user.upn}}`, `{{enrollment.id}}` and `{{certificate.<profile>.thumbprint}}` (the certificate
// a SCEP profile issued to that device; docs: README "Certificate profiles over SCEP"). A file
// naming an unknown variable is refused at `file:line:col`; a value one device cannot fill makes
// that device's setting not_applicable with the reason.
import type { SourcePosition } from './errors.js';

const TEMPLATE_RE = /\{\{\s*([^{}]*?)\s*\}\}/g;

export const TEMPLATE_VARIABLES = [
  'device.id',
  'device.name',
  'device.serial',
  'user.upn',
  'enrollment.id',
  /** SHA-1 thumbprint of the SCEP CA (e.g. a Wi-Fi profile's IssuerHash). */
  'scep.caThumbprint',
] as const;

/** Variables only the server fills (the certificate profile nodes use them). */
const INTERNAL_VARIABLES = new Set(['scep.url']);

export interface TemplateUse {
  readonly variable: string;
  /** 0-based offset of `{{` in the text. */
  readonly offset: number;
}

export function templateUses(text: string): TemplateUse[] {
  return [...text.matchAll(TEMPLATE_RE)].map((m) => ({ variable: m[1]!, offset: m.index }));
}

export const hasTemplate = (text: string) => templateUses(text).length > 0;

/**
 * Why `variable` is not allowed, or undefined when it is. `profiles` are the certificate profiles
 * the policy defines.
 */
export function variableProblem(
  variable: string,
  profiles: ReadonlySet<string>,
  options: { internal?: boolean } = {},
): string | undefined {
  if ((TEMPLATE_VARIABLES as readonly string[]).includes(variable)) return undefined;
  if (options.internal && (INTERNAL_VARIABLES.has(variable) || /^scep\.challenge\.[^.]+$/.test(variable))) {
    return undefined;
  }
  const cert = /^certificate\.([^.]+)\.thumbprint$/.exec(variable);
  if (cert) {
    if (profiles.has(cert[1]!)) return undefined;
    const known = [...profiles];
    return `{{${variable}}} names certificate profile "${cert[1]}", which this policy does not define${
      known.length ? ` (it defines ${known.join(', ')})` : ' (add it under `certificates:`)'
    }`;
  }
  return `unknown variable {{${variable}}}; known: ${[
    ...TEMPLATE_VARIABLES,
    'certificate.<profile>.thumbprint',
  ]
    .map((v) => `{{${v}}}`)
    .join(', ')}`;
}

/**
 * Position of the character at `offset` inside a scalar written at `pos` with source text
 * `source` (as written: quoted or plain, one or more lines).
 */
export function positionInScalar(
  pos: SourcePosition,
  source: string | undefined,
  value: string,
  offset: number,
): SourcePosition {
  const raw = source ?? value;
  // Find the variable in the written text (quotes and escapes shift it); fall back to the value.
  const needle = value.slice(offset, value.indexOf('}}', offset) + 2);
  const at = raw.indexOf(needle);
  const index = at >= 0 ? at : offset;
  const before = raw.slice(0, index);
  const lines = before.split('\n');
  // A quoted scalar starts at its quote; its source text is the value inside the quotes.
  const quote = source !== undefined && at >= 0 && raw === value ? 0 : 0;
  if (lines.length === 1) return { ...pos, col: pos.col + index + quote };
  return { ...pos, line: pos.line + lines.length - 1, col: lines[lines.length - 1]!.length + 1 };
}

/** The values a device supplies; undefined = not known for this device. */
export interface TemplateContext {
  readonly device: { readonly id: string; readonly name?: string; readonly serial?: string };
  readonly user?: { readonly upn?: string };
  readonly enrollment?: { readonly id?: string };
  /** Thumbprint of the installed certificate of each profile. */
  readonly certificates?: Readonly<Record<string, string | undefined>>;
  readonly scep?: { readonly url?: string; readonly caThumbprint?: string };
  /** One-time challenges by profile, filled only when a profile's Install nodes are sent. */
  readonly challenges?: Readonly<Record<string, string>>;
}

export type Resolved = { readonly value: string } | { readonly unresolved: string };

/** Fills every variable of `text` for one device, or says which one it cannot fill. */
export function resolveTemplate(text: string, context: TemplateContext): Resolved {
  const missing: string[] = [];
  const value = text.replace(TEMPLATE_RE, (_all, variable: string) => {
    const v = lookup(variable, context);
    if (v === undefined || v === '') {
      missing.push(variable);
      return '';
    }
    return v;
  });
  if (missing.length > 0) {
    return {
      unresolved: `no value for ${missing.map((m) => `{{${m}}}`).join(', ')} on device ${context.device.id}`,
    };
  }
  return { value };
}

function lookup(variable: string, c: TemplateContext): string | undefined {
  switch (variable) {
    case 'device.id':
      return c.device.id;
    case 'device.name':
      return c.device.name;
    case 'device.serial':
      return c.device.serial;
    case 'user.upn':
      return c.user?.upn;
    case 'enrollment.id':
      return c.enrollment?.id;
    case 'scep.url':
      return c.scep?.url;
    case 'scep.caThumbprint':
      return c.scep?.caThumbprint;
  }
  const challenge = /^scep\.challenge\.([^.]+)$/.exec(variable);
  if (challenge) return c.challenges?.[challenge[1]!];
  const cert = /^certificate\.([^.]+)\.thumbprint$/.exec(variable);
  return cert ? c.certificates?.[cert[1]!] : undefined;
}
