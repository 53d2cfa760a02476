// While the database is unreachable every protocol answers "service unavailable" in its own way
// (SyncML status 503, a SOAP fault, problem+json) with this Retry-After hint.
export const RETRY_AFTER_SECONDS = 30;
