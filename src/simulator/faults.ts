// Faults a virtual device can produce on demand, to exercise the server's failure paths:
// a connection dropped mid-session (commands never acknowledged must be re-sent, docs/protocol-notes.md#end-of-session),
// slow answers, a CSP failing with 500 on chosen paths, a setting drifting between sessions (a local
// change the server should detect), and user-initiated unenrollment (1226, docs/protocol-notes.md#generic-alerts).

export interface DriftRule {
  /** LocURI whose value changes before each session. */
  readonly path: string;
  /** New value; when absent the current value is flipped (0↔1, true↔false, else suffixed). */
  readonly value?: string;
}

export interface FaultPlan {
  /** Drop the connection when sending this message number of a session (2 = after package 1). */
  readonly dropAtMessage?: number;
  /** Only drop in sessions for which this returns true (default: every session). */
  readonly dropInSession?: (sessionNumber: number) => boolean;
  /** Wait this long before sending each message after the first (answer late). */
  readonly delayMs?: number;
  /** Paths (exact LocURI, or a pattern) for which the device answers 500. */
  readonly failPaths?: readonly (string | RegExp)[];
  /** Values that change between sessions. */
  readonly drift?: readonly DriftRule[];
}

export function pathMatcher(
  paths: readonly (string | RegExp)[] | undefined,
): ((path: string) => boolean) | undefined {
  if (!paths || paths.length === 0) return undefined;
  const exact = new Set(paths.filter((p): p is string => typeof p === 'string'));
  const patterns = paths.filter((p): p is RegExp => p instanceof RegExp);
  return (path) => exact.has(path) || patterns.some((re) => re.test(path));
}

/** The next value of a drifting setting. */
export function driftValue(current: string | undefined, rule: DriftRule): string {
  if (rule.value !== undefined) return rule.value;
  if (current === '0') return '1';
  if (current === '1') return '0';
  if (current === 'true') return 'false';
  if (current === 'false') return 'true';
  if (current !== undefined && /^-?\d+$/.test(current)) return String(Number(current) + 1);
  return `${current ?? ''}~drift`;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
