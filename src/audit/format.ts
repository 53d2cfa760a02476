// The audit event as it leaves the server: one stable JSON schema (`mdm.audit/1`, README "Audit
// trail to a SIEM") for the JSON lines file, `mdm audit export` and the MSG part of each syslog
// message; the RFC 5424 syslog message and its RFC 6587 octet-counting frame.
import { hostname } from 'node:os';
import type { AuditEntry } from '../storage/audit.js';

export const AUDIT_SCHEMA = 'mdm.audit/1';

export interface AuditRecord {
  readonly schema: typeof AUDIT_SCHEMA;
  readonly id: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly deviceId: string | null;
  readonly outcome: 'success' | 'failure';
  readonly details: Readonly<Record<string, unknown>>;
}

/** Refusals and failures are `failure` (syslog severity warning); every other action `success`. */
export const outcomeOf = (action: string): AuditRecord['outcome'] =>
  /(^|\.)(refused|denied|failed|rejected)$/.test(action) ? 'failure' : 'success';

export function toAuditRecord(e: AuditEntry): AuditRecord {
  return {
    schema: AUDIT_SCHEMA,
    id: e.id,
    at: e.at,
    actor: e.actor,
    action: e.action,
    deviceId: e.deviceId ?? null,
    outcome: outcomeOf(e.action),
    details: e.details,
  };
}

export const CSV_COLUMNS = ['id', 'at', 'actor', 'action', 'deviceId', 'outcome', 'details'] as const;

const csvField = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** One CSV row (RFC 4180); `details` is the JSON object. */
export function toCsvRow(r: AuditRecord): string {
  return [String(r.id), r.at, r.actor, r.action, r.deviceId ?? '', r.outcome, JSON.stringify(r.details)]
    .map(csvField)
    .join(',');
}

/** RFC 5424 §6.2.1: facility 13 "log audit"; severity 5 notice, 4 warning for failures. */
const FACILITY_LOG_AUDIT = 13;
/** Private enterprise number of the SD-ID: 32473 is the one RFC 5612 reserves for documentation. */
export const SD_ID = 'mdm@32473';

/** PRINTUSASCII (33–126) only, at most `max` characters, `-` when empty (RFC 5424 §6). */
const printable = (s: string, max: number) => s.replace(/[^\x21-\x7e]/g, '_').slice(0, max) || '-';
/** SD-PARAM value escaping (RFC 5424 §6.3.3): `"`, `\` and `]`. */
const paramValue = (s: string) => s.replace(/[\\"\]]/g, (c) => `\\${c}`);

export function syslogMessage(e: AuditEntry, host: string = hostname()): string {
  const record = toAuditRecord(e);
  const pri = FACILITY_LOG_AUDIT * 8 + (record.outcome === 'failure' ? 4 : 5);
  const sd = `[${SD_ID} id="${e.id}" actor="${paramValue(e.actor)}" action="${paramValue(e.action)}"${
    e.deviceId ? ` deviceId="${paramValue(e.deviceId)}"` : ''
  }]`;
  // MSG is UTF-8 with the BOM (RFC 5424 §6.4).
  return `<${pri}>1 ${e.at} ${printable(host, 255)} mdm ${process.pid} ${printable(e.action, 32)} ${sd} \uFEFF${JSON.stringify(record)}`;
}

/** RFC 6587 §3.4.1 octet counting: `MSG-LEN SP SYSLOG-MSG`, the length in bytes. */
export function octetFrame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}
