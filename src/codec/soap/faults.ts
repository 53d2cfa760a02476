// SOAP 1.2 faults of MS-MDE2 (MS-MDE2 2.2.10, docs/protocol-notes.md#soap-faults). The Windows client
// reads `//s:Fault//s:Detail//e:DeviceEnrollmentServiceError//e:ErrorType` (case-sensitive), then
// falls back to the subcode, and maps the string to an HRESULT by substring.
import { NS } from './namespaces.js';
import { renderSoapResponse } from './response.js';
import { el } from './writer.js';

/** Subcodes with their prefix and the HRESULT Windows reports. */
export const FAULT_SUBCODES = {
  MessageFormat: { value: 's:MessageFormat', hresult: 0x80180001 },
  Authentication: { value: 's:Authentication', hresult: 0x80180002 },
  Authorization: { value: 's:Authorization', hresult: 0x80180003 },
  CertificateRequest: { value: 's:CertificateRequest', hresult: 0x80180004 },
  EnrollmentServer: { value: 's:EnrollmentServer', hresult: 0x80180005 },
  InternalServiceFault: { value: 'a:InternalServiceFault', hresult: 0x80180006 },
  InvalidSecurity: { value: 'a:InvalidSecurity', hresult: 0x80180007 },
} as const;
export type FaultSubcode = keyof typeof FAULT_SUBCODES;

/** Detail `ErrorType` values (Windows 10+) with their HRESULTs. */
export const ENROLLMENT_ERROR_TYPES = {
  DeviceCapReached: 0x80180013,
  DeviceNotSupported: 0x80180014,
  NotSupported: 0x80180015,
  NotEligibleToRenew: 0x80180016,
  InMaintenance: 0x80180017,
  UserLicense: 0x80180018,
  InvalidEnrollmentData: 0x80180019,
  CustomServerError: 0x80180032,
} as const;
export type EnrollmentErrorType = keyof typeof ENROLLMENT_ERROR_TYPES;

/** Client mistakes get `s:Sender`; everything else `s:Receiver`. */
const SENDER_SUBCODES: ReadonlySet<FaultSubcode> = new Set(['MessageFormat', 'InvalidSecurity']);

/**
 * The one error type of the enrollment protocol; rendered by `renderFault`. The message is written
 * into the fault, so it is a fixed text of ours and never carries request bytes or a parser's
 * message; those go into `logDetail`, which is logged and never rendered.
 */
export class EnrollmentFault extends Error {
  override name = 'EnrollmentFault';
  constructor(
    readonly subcode: FaultSubcode,
    message: string,
    readonly errorType?: EnrollmentErrorType,
    readonly logDetail?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
  /** The string Windows sees in `ErrorType`: the specific error type, else the subcode name. */
  get detailErrorType(): string {
    return this.errorType ?? this.subcode;
  }
}

export interface RenderFaultOptions {
  /** The operation's response action (docs/protocol-notes.md#soap-faults). */
  readonly action: string;
  /** The request's MessageID, when it could be read. */
  readonly relatesTo?: string;
  readonly traceId: string;
}

export function renderFault(fault: EnrollmentFault, options: RenderFaultOptions): string {
  const code = SENDER_SUBCODES.has(fault.subcode) ? 's:Sender' : 's:Receiver';
  return renderSoapResponse({
    action: options.action,
    relatesTo: options.relatesTo,
    body: el(
      's:Fault',
      {},
      el(
        's:Code',
        {},
        el('s:Value', {}, code),
        el('s:Subcode', {}, el('s:Value', {}, FAULT_SUBCODES[fault.subcode].value)),
      ),
      el('s:Reason', {}, el('s:Text', { 'xml:lang': 'en-US' }, fault.message)),
      el(
        's:Detail',
        {},
        el(
          'DeviceEnrollmentServiceError',
          { xmlns: NS.enrollment },
          el('ErrorType', {}, fault.detailErrorType),
          el('Message', {}, fault.message),
          el('TraceId', {}, options.traceId),
        ),
      ),
    ),
  });
}
