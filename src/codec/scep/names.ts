// Names in SCEP requests and certificates: RFC 4514 distinguished-name strings and RFC 5280
// GeneralNames (subject alternative names), as both the SCEP server and a SCEP client write them.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { ScepMessageError } from './cms.js';

/** Microsoft's user principal name otherName type (RFC 5280 §4.2.1.6 otherName type-id). */
export const UPN_OID = '1.3.6.1.4.1.311.20.2.3';

/** RFC 4514 short names of the attribute types a subject may hold. */
const NAME_TYPES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'SERIALNUMBER',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  '1.2.840.113549.1.9.1': 'E',
};

const escapeDnValue = (v: string) =>
  v
    .replace(/([,+"\\<>;=])/g, '\\$1')
    .replace(/^([ #])/, '\\$1')
    .replace(/ $/, '\\ ');

/** RFC 4514 string of a Name (most significant RDN first, as the request lists them). */
export function formatName(name: pkijs.RelativeDistinguishedNames): string {
  return name.typesAndValues
    .map(
      (tv) => `${NAME_TYPES[tv.type] ?? tv.type}=${escapeDnValue(String(tv.value.valueBlock.value ?? ''))}`,
    )
    .join(',');
}

/** Splits an RFC 4514 string into (TYPE, value) pairs, upper-casing the types. */
export function parseDn(dn: string): [string, string][] {
  const out: [string, string][] = [];
  let type = '';
  let value = '';
  let inValue = false;
  for (let i = 0; i < dn.length; i++) {
    const ch = dn[i]!;
    if (ch === '\\' && i + 1 < dn.length) {
      i++;
      if (inValue) value += dn[i];
      else type += dn[i];
      continue;
    }
    if (!inValue && ch === '=') {
      inValue = true;
      continue;
    }
    if (ch === ',' || ch === '+') {
      out.push([type.trim().toUpperCase(), value.trim()]);
      type = '';
      value = '';
      inValue = false;
      continue;
    }
    if (inValue) value += ch;
    else type += ch;
  }
  if (type.trim()) out.push([type.trim().toUpperCase(), value.trim()]);
  return out;
}

/**
 * GeneralNames (RFC 5280 §4.2.1.6) of `dns:`/`email:`/`uri:`/`upn:` entries. A UPN is an otherName
 * `[0] IMPLICIT SEQUENCE { type-id 1.3.6.1.4.1.311.20.2.3, [0] EXPLICIT UTF8String }`.
 */
export function generalNamesSchema(entries: readonly string[]): asn1js.Sequence {
  return new asn1js.Sequence({
    value: entries.map((entry) => {
      const i = entry.indexOf(':');
      const kind = entry.slice(0, i).toLowerCase();
      const value = entry.slice(i + 1);
      switch (kind) {
        case 'dns':
          return new pkijs.GeneralName({ type: 2, value }).toSchema();
        case 'email':
          return new pkijs.GeneralName({ type: 1, value }).toSchema();
        case 'uri':
          return new pkijs.GeneralName({ type: 6, value }).toSchema();
        case 'upn':
          return new asn1js.Constructed({
            idBlock: { tagClass: 3, tagNumber: 0 },
            value: [
              new asn1js.ObjectIdentifier({ value: UPN_OID }),
              new asn1js.Constructed({
                idBlock: { tagClass: 3, tagNumber: 0 },
                value: [new asn1js.Utf8String({ value })],
              }),
            ],
          });
        default:
          throw new ScepMessageError(`unsupported subject alternative name ${kind}`, 'badRequest');
      }
    }),
  });
}
