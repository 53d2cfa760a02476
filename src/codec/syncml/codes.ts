// SyncML wire codes (docs/protocol-notes.md#alert-codes, #status-codes) and namespaces (#namespaces).

export const SYNCML_NS = 'SYNCML:SYNCML1.2' as const;
/** Accepted on input as well as 1.2 (docs/protocol-notes.md#syncml-messages). */
export const SYNCML_NS_11 = 'SYNCML:SYNCML1.1' as const;
export const METINF_NS = 'syncml:metinf' as const;
export const SYNCML_CONTENT_TYPE = 'application/vnd.syncml.dm+xml' as const;

export const ALERT = {
  DISPLAY: 1100,
  SERVER_INITIATED_MGMT: 1200,
  CLIENT_INITIATED_MGMT: 1201,
  NEXT_MESSAGE: 1222,
  SESSION_ABORT: 1223,
  CLIENT_EVENT: 1224,
  NO_END_OF_DATA: 1225,
  GENERIC_ALERT: 1226,
} as const;

export const STATUS = {
  OK: 200,
  ITEM_ADDED: 201,
  ACCEPTED: 202,
  NO_CONTENT: 204,
  AUTH_ACCEPTED: 212,
  CHUNK_ACCEPTED: 213,
  OPERATION_CANCELLED: 214,
  NOT_EXECUTED: 215,
  ATOMIC_ROLLBACK_OK: 216,
  BAD_REQUEST: 400,
  INVALID_CREDENTIALS: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  COMMAND_NOT_ALLOWED: 405,
  OPTIONAL_FEATURE_NOT_SUPPORTED: 406,
  MISSING_CREDENTIALS: 407,
  INCOMPLETE_COMMAND: 412,
  REQUEST_ENTITY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  ALREADY_EXISTS: 418,
  SIZE_MISMATCH: 424,
  PERMISSION_DENIED: 425,
  COMMAND_FAILED: 500,
  NOT_IMPLEMENTED: 501,
  SERVICE_UNAVAILABLE: 503,
  ATOMIC_FAILED: 507,
  ATOMIC_ROLLBACK_FAILED: 516,
  ATOMIC_RESPONSE_TOO_LARGE: 517,
} as const;

/** Human meaning of each status code, for the CLI and logs (docs/protocol-notes.md#status-codes). */
export const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK',
  201: 'Item added',
  202: 'Accepted for processing',
  204: 'No content',
  206: 'Partial content',
  212: 'Authentication accepted',
  213: 'Chunked item accepted',
  214: 'Operation cancelled',
  215: 'Not executed',
  216: 'Atomic roll back OK',
  304: 'Not modified',
  400: 'Bad request',
  401: 'Invalid credentials',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Command not allowed',
  406: 'Optional feature not supported',
  407: 'Missing credentials',
  408: 'Request timeout',
  412: 'Incomplete command',
  413: 'Request entity too large',
  414: 'URI too long',
  415: 'Unsupported media type or format',
  416: 'Requested size too big',
  417: 'Retry later',
  418: 'Already exists',
  420: 'Device full',
  424: 'Size mismatch',
  425: 'Permission denied',
  500: 'Command failed',
  501: 'Command not implemented',
  503: 'Service unavailable',
  505: 'DTD version not supported',
  506: 'Processing error',
  507: 'Atomic failed',
  510: 'Data store failure',
  511: 'Server failure',
  512: 'Synchronization failed',
  513: 'Protocol version not supported',
  514: 'Operation cancelled',
  516: 'Atomic roll back failed',
  517: 'Atomic response too large to fit',
};

/** Generic alert types the server acts on (docs/protocol-notes.md#generic-alerts). */
export const ALERT_TYPE = {
  LOGIN_STATUS: 'com.microsoft/MDM/LoginStatus',
  UNENROLL_USER_REQUEST: 'com.microsoft:mdm.unenrollment.userrequest',
  REQUEST_PENDING: 'Reversed-Domain-Name:com.microsoft.mdm.requestpending',
} as const;

export const AUTH_TYPE = {
  MD5: 'syncml:auth-md5',
  BASIC: 'syncml:auth-basic',
} as const;

/** 2xx = success (docs/protocol-notes.md#status-codes). */
export function isSuccessStatus(code: number): boolean {
  return code >= 200 && code < 300;
}
