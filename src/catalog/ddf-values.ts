// `MSFT:AllowedValues` and `MSFT:DependencyBehavior` of a DDF node's DFProperties.
import { childElement, childElements, textOf, type XmlElement } from '../codec/xml.js';
import type { AllowedValues, Dependency, EnumValue } from './types.js';

/** The node's allowed values; undefined when the DDF gives none (`ValueType="None"` or absent). */
export function readAllowedValues(
  props: XmlElement,
  area: string | undefined,
  warn: (message: string) => void,
): AllowedValues | undefined {
  const el = childElement(props, 'AllowedValues');
  return el ? allowedValuesOf(el, area, warn) : undefined;
}

/** An `AllowedValues`-shaped element (`ValueType` attribute + Enum/Value/AdmxBacked children). */
function allowedValuesOf(
  el: XmlElement,
  area: string | undefined,
  warn: (message: string) => void,
): AllowedValues | undefined {
  const type = (el.attrs.ValueType ?? '').toLowerCase();
  const value = textOf(childElement(el, 'Value')).trim();
  switch (type) {
    case 'enum':
      return { kind: 'enum', values: enumValues(el) };
    case 'flag':
      return { kind: 'flag', values: enumValues(el) };
    case 'range': {
      const range = parseRange(value);
      if (!range) warn(`unreadable Range "${value}" ignored`);
      return range;
    }
    case 'regex':
      return { kind: 'regex', pattern: value };
    case 'admx':
      return admxBacked(el, area);
    case 'xsd':
    case 'json':
    case 'sddl':
      return value === '' ? { kind: type } : { kind: type, raw: value };
    case 'none':
    case '':
      return undefined;
    default:
      warn(`unknown AllowedValues ValueType "${el.attrs.ValueType}" ignored`);
      return undefined;
  }
}

function enumValues(el: XmlElement): EnumValue[] {
  return childElements(el, 'Enum').map((e) => {
    const description = textOf(childElement(e, 'ValueDescription')).trim();
    return { value: textOf(childElement(e, 'Value')), ...(description ? { description } : {}) };
  });
}

function admxBacked(el: XmlElement, area?: string): AllowedValues {
  const admx = childElement(el, 'AdmxBacked');
  const attrs = admx?.attrs ?? {};
  return {
    kind: 'admx',
    ...(attrs.File ? { admxFile: attrs.File } : {}),
    ...(area ? { area } : {}),
    ...(attrs.Area ? { category: attrs.Area } : {}),
    ...(attrs.Name ? { policy: attrs.Name } : {}),
    ...(attrs.Type ? { nativeType: attrs.Type } : {}),
  };
}

const NUMBER = String.raw`\(?\s*(-?\d+)\s*\)?`;
const INTERVAL_RE = new RegExp(`^${NUMBER}(?:\\s*-\\s*${NUMBER})?$`);

/**
 * DDF ranges: `[0-4294967295]`, `[(-1)-2147483647]` (negative bounds in parentheses), `[1]`, and
 * lists such as `[6,17]`. Undefined when the text is none of these.
 */
export function parseRange(raw: string): AllowedValues | undefined {
  const body = /^\[(.*)\]$/s.exec(raw.trim())?.[1];
  if (body === undefined) return undefined;
  const intervals: [number, number][] = [];
  for (const part of body.split(',')) {
    const m = INTERVAL_RE.exec(part.trim());
    if (!m) return undefined;
    const low = Number(m[1]);
    const high = m[2] === undefined ? low : Number(m[2]);
    intervals.push([Math.min(low, high), Math.max(low, high)]);
  }
  const min = Math.min(...intervals.map((i) => i[0]));
  const max = Math.max(...intervals.map((i) => i[1]));
  return intervals.length > 1
    ? { kind: 'range', min, max, raw, intervals }
    : { kind: 'range', min, max, raw };
}

/** Every `MSFT:Dependency` in every dependency group, in document order. */
export function readDependencies(
  props: XmlElement,
  area: string | undefined,
  warn: (message: string) => void,
): Dependency[] {
  const behavior = childElement(props, 'DependencyBehavior');
  if (!behavior) return [];
  const out: Dependency[] = [];
  for (const group of childElements(behavior, 'DependencyGroup')) {
    const changedEl = childElement(group, 'DependencyChangedAllowedValues');
    const changed = changedEl ? allowedValuesOf(changedEl, area, warn) : undefined;
    for (const dep of childElements(group, 'Dependency')) {
      const allowed = childElement(dep, 'DependencyAllowedValue');
      const value = allowed ? dependencyValue(allowed) : '';
      const valueType = allowed?.attrs.ValueType ?? '';
      out.push({
        type: dep.attrs.Type ?? 'DependsOn',
        path: textOf(childElement(dep, 'DependencyUri')).trim(),
        ...(value ? { value } : {}),
        ...(valueType ? { valueType } : {}),
        ...(changed ? { changedAllowed: changed } : {}),
      });
    }
  }
  return out;
}

function dependencyValue(allowed: XmlElement): string {
  const admx = childElement(allowed, 'AdmxBacked');
  if (admx) return [admx.attrs.File, admx.attrs.Name].filter(Boolean).join(':');
  const enums = childElements(allowed, 'Enum');
  if (enums.length > 0) return enums.map((e) => textOf(childElement(e, 'Value')).trim()).join(',');
  return textOf(childElement(allowed, 'Value')).trim();
}
