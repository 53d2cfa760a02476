// Child process: the load generator. Runs one job per `{ type: 'run', job }` message and answers
// `{ type: 'result', result }`; `{ type: 'stop' }` exits. Kept apart from the server so the two
// compete for the machine's cores the way a real client fleet and server would not: the figures
// are a floor for the server, not a ceiling.
import { type EnrollJob, runEnrollments, runSignIns } from './enroll-load.js';
import { type CheckinJob, type HandshakeJob, runCheckins, runHandshakes, type Target } from './load.js';
import { isEntryPoint } from './process.js';

export interface SignInJob {
  readonly kind: 'signins';
  readonly target: Target;
  readonly upn: string;
  readonly password: string;
  readonly concurrency: number;
  readonly seconds: number;
}

export type LoadJob = CheckinJob | HandshakeJob | EnrollJob | SignInJob;

export function runJob(job: LoadJob): Promise<unknown> {
  switch (job.kind) {
    case 'checkins':
      return runCheckins(job);
    case 'handshakes':
      return runHandshakes(job);
    case 'enrollments':
      return runEnrollments(job);
    case 'signins':
      return runSignIns(job);
  }
}

/** Entry of the load-generator child process. */
export function startChild(): void {
  process.on('message', (msg: { type: string; job?: LoadJob }) => {
    if (msg.type === 'run' && msg.job) {
      runJob(msg.job).then(
        (result) => process.send?.({ type: 'result', result }),
        (err: unknown) =>
          process.send?.({ type: 'error', message: err instanceof Error ? err.stack : String(err) }),
      );
    } else if (msg.type === 'stop') process.exit(0);
  });
  process.send?.({ type: 'ready' });
}

if (isEntryPoint(import.meta.url)) startChild();
