// SOAP plumbing for the enrollment endpoints: raw body reading with the configured limit and
// fault rendering (docs/protocol-notes.md#soap-faults: HTTP 500, SOAP 1.2 content type, explicit Content-Length).
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import express from 'express';
import { EnrollmentFault, renderFault } from '../codec/soap/faults.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { isStorageUnavailable } from '../storage/errors.js';
import { RETRY_AFTER_SECONDS } from '../transport/unavailable.js';
import { withIdleTimeout } from './body.js';

export const SOAP_CONTENT_TYPE = 'application/soap+xml; charset=utf-8';

/**
 * Reads any body as raw bytes up to `maxBodyBytes`, giving up after `bodyTimeoutSeconds` of
 * silence; SOAP clients do not always send a SOAP content type.
 */
export function rawBody(config: Pick<Config, 'maxBodyBytes' | 'bodyTimeoutSeconds'>) {
  return withIdleTimeout(
    express.raw({ type: () => true, limit: config.maxBodyBytes }),
    config.bodyTimeoutSeconds * 1000,
  );
}

export function sendSoap(res: Response, xml: string): void {
  res.status(200).type(SOAP_CONTENT_TYPE).send(xml);
}

export interface FaultContext {
  readonly action: string;
  readonly relatesTo?: string;
}

/** Renders any error as a SOAP fault; unexpected errors are logged and become EnrollmentServer faults. */
export function sendFault(
  res: Response,
  err: unknown,
  context: FaultContext,
  logger: Logger,
  status = 500,
): void {
  const traceId = randomUUID();
  let fault: EnrollmentFault;
  if (err instanceof EnrollmentFault) {
    fault = err;
    // What the request held (a parser's message, an unsupported value) is logged here, never
    // rendered into the fault.
    const level = fault.subcode === 'EnrollmentServer' ? 'warn' : 'info';
    logger[level](
      {
        traceId,
        subcode: fault.subcode,
        errorType: fault.errorType,
        reason: fault.message,
        ...(fault.logDetail && { detail: fault.logDetail }),
      },
      'enrollment fault',
    );
  } else if (isStorageUnavailable(err)) {
    logger.warn({ traceId, err: err.message }, 'enrollment refused: database unavailable');
    fault = new EnrollmentFault(
      'EnrollmentServer',
      'the enrollment service is temporarily unavailable; try again later',
    );
    status = 503;
    res.set('Retry-After', String(RETRY_AFTER_SECONDS));
  } else {
    logger.error({ traceId, err }, 'enrollment request failed');
    fault = new EnrollmentFault('EnrollmentServer', 'the enrollment server could not process the request');
  }
  res
    .status(status)
    .type(SOAP_CONTENT_TYPE)
    .send(renderFault(fault, { ...context, traceId }));
}

/**
 * Error handler for body-parser failures on a SOAP route (body over the limit, aborted upload):
 * answered as a MessageFormat fault with the parser's HTTP status (413 for an oversized body).
 */
export function soapBodyErrors(action: string, logger: Logger) {
  return (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const status = (err as { status?: number }).status;
    if (res.headersSent || typeof status !== 'number') return next(err);
    const type = (err as { type?: string }).type;
    const message =
      type === 'entity.too.large'
        ? 'request body is too large'
        : type === 'request.timeout'
          ? 'request body did not arrive in time'
          : 'request body could not be read';
    sendFault(res, new EnrollmentFault('MessageFormat', message), { action }, logger, status);
  };
}
