// Enrollment load: real MS-MDE2 exchanges against the server (GET probe, Discover, GetPolicies,
// RequestSecurityToken with a fresh PKCS#10 per device), so every enrollment is signed by the
// server's enrollment CA and recorded in its database. Users authenticate with a Federated sign-in
// token from the server's sign-in page, one per enrollment (a token enrolls one device once); the
// page's scrypt password check is deliberately slow and is measured separately as sign-ins/s, and
// is left out of each enrollment's latency (see bench/README.md).
import { randomBytes, randomUUID } from 'node:crypto';
import { buildCsr, type DeviceKey, generateDeviceKey } from '../src/simulator/csr.js';
import { enrollmentContext } from '../src/simulator/enroll.js';
import {
  discoverRequest,
  type EnrollmentCredentials,
  getPoliciesRequest,
  readDiscoverResponse,
  readGetPoliciesResponse,
  readRstrResponse,
  rstRequest,
} from '../src/simulator/enroll-messages.js';
import { makeProfile } from '../src/simulator/profile.js';
import { applyProvisioningDoc } from '../src/simulator/provisioning.js';
import { type Connection, connect, type HttpResponse } from './http-client.js';
import type { Target } from './load.js';
import { LatencyRecorder, type LatencySummary, summarize, type TimelinePoint } from './stats.js';

const DISCOVERY_PATH = '/EnrollmentServer/Discovery.svc';
const AUTH_PATH = '/EnrollmentServer/Auth';
const SOAP_HEADERS = 'content-type: application/soap+xml; charset=utf-8\r\nuser-agent: ENROLLClient\r\n';
const FORM_HEADERS = 'content-type: application/x-www-form-urlencoded\r\n';
const APPRU = 'ms-app://windows.immersivecontrolpanel';

export interface EnrollJob {
  readonly kind: 'enrollments';
  readonly target: Target;
  /** Server public URL (`http://127.0.0.1:port`), the base of the discovery URL. */
  readonly baseUrl: string;
  readonly upn: string;
  readonly password: string;
  readonly concurrency: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** Stop after this many enrollments (smoke tests). */
  readonly maxEnrollments?: number;
  /** Fully parse and check this many responses (the rest are checked for status and shape). */
  readonly verifyFirst?: number;
}

export interface EnrollResult {
  readonly enrollments: number;
  readonly failed: number;
  readonly windowSec: number;
  readonly enrollPerSec: number;
  /** One enrollment: probe + Discover + GetPolicies + RST. */
  readonly latency: LatencySummary;
  readonly timeline: TimelinePoint[];
  /** Enrollments whose provisioning doc was fully parsed and its certificate checked. */
  readonly verified: number;
  readonly deviceIds: string[];
  readonly errors: string[];
}

export interface SignInResult {
  readonly signIns: number;
  readonly signInsPerSec: number;
  readonly latency: LatencySummary;
  readonly errors: string[];
}

const form = (fields: Record<string, string>) =>
  Object.entries(fields)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');

/** The Federated token the sign-in page posts back to Windows (`wresult`). */
export async function signIn(conn: Connection, upn: string, password: string): Promise<string> {
  const res = await conn.request(
    'POST',
    AUTH_PATH,
    FORM_HEADERS,
    form({ appru: APPRU, username: upn, password }),
  );
  const token = /name="wresult" value="([^"]+)"/.exec(res.body)?.[1];
  if (res.status !== 200 || !token) throw new Error(`sign-in failed: HTTP ${res.status}`);
  return token.replace(/&amp;/g, '&');
}

function expectSoap(step: string, res: HttpResponse, marker: string): string {
  if (res.status !== 200 || !res.body.includes(marker) || res.body.includes(':Fault>')) {
    throw new Error(`${step}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
  }
  return res.body;
}

export async function runEnrollments(job: EnrollJob): Promise<EnrollResult> {
  const recorder = new LatencyRecorder();
  const errors: string[] = [];
  const deviceIds: string[] = [];
  const verifyFirst = job.verifyFirst ?? 3;
  let verified = 0;
  let failed = 0;
  let total = 0;
  let inWindow = 0;
  const discoveryUrl = `${job.baseUrl}${DISCOVERY_PATH}`;
  // Windows generates its key in the TPM before enrolling; that cost is the device's, not the
  // server's, so each worker reuses one key (each enrollment still signs its own CSR).
  const keys: DeviceKey[] = await Promise.all(
    Array.from({ length: job.concurrency }, () => generateDeviceKey()),
  );

  let windowStart = 0;
  let end = 0;
  let started = 0;
  const done = () =>
    performance.now() >= end || (job.maxEnrollments !== undefined && started >= job.maxEnrollments);

  async function enrollOne(conn: Connection, creds: EnrollmentCredentials, key: DeviceKey): Promise<void> {
    const profile = makeProfile(randomBytes(8).toString('hex'));
    const verify = total + failed < verifyFirst;
    const probe = await conn.request('GET', DISCOVERY_PATH, 'user-agent: ENROLLClient\r\n', '');
    if (probe.status !== 200) throw new Error(`discovery probe: HTTP ${probe.status}`);
    const discover = expectSoap(
      'Discover',
      await conn.request(
        'POST',
        DISCOVERY_PATH,
        SOAP_HEADERS,
        discoverRequest(`urn:uuid:${randomUUID()}`, discoveryUrl, {
          email: job.upn,
          osVersion: profile.osVersion,
          osEdition: profile.osEdition,
          authPolicies: ['OnPremise', 'Federated'],
        }),
      ),
      'DiscoverResponse',
    );
    const urls = discoveredUrls(discover);
    if (verify) {
      const d = readDiscoverResponse(discover);
      if (d.authPolicy !== 'Federated')
        throw new Error(`server chose ${d.authPolicy}, the bench enrolls Federated`);
    }
    const policies = expectSoap(
      'GetPolicies',
      await conn.request(
        'POST',
        new URL(urls.policy).pathname,
        SOAP_HEADERS,
        getPoliciesRequest(`urn:uuid:${randomUUID()}`, urls.policy, creds),
      ),
      'GetPoliciesResponse',
    );
    const hash = /2\.16\.840\.1\.101\.3\.4\.2\.1/.test(policies) ? 'sha256' : 'sha1';
    if (verify && readGetPoliciesResponse(policies).hash !== hash) throw new Error('hash algorithm misread');
    const csr = buildCsr(key, profile.deviceId, hash);
    const rst = expectSoap(
      'RequestSecurityToken',
      await conn.request(
        'POST',
        new URL(urls.enrollment).pathname,
        SOAP_HEADERS,
        rstRequest(`urn:uuid:${randomUUID()}`, urls.enrollment, creds, csr, enrollmentContext(profile)),
      ),
      'RequestSecurityTokenResponseCollection',
    );
    if (verify) {
      const account = applyProvisioningDoc(readRstrResponse(rst), key.spkiDer);
      if (!account.certPem.includes('BEGIN CERTIFICATE'))
        throw new Error('no client certificate provisioned');
      verified++;
    }
    if (deviceIds.length < 20) deviceIds.push(profile.deviceId);
  }

  async function worker(index: number): Promise<void> {
    let conn: Connection | undefined;
    while (!done()) {
      started++;
      try {
        conn ??= await connect(job.target);
        const creds: EnrollmentCredentials = {
          kind: 'token',
          token: await signIn(conn, job.upn, job.password),
        };
        const t0 = performance.now();
        await enrollOne(conn, creds, keys[index]!);
        const t1 = performance.now();
        total++;
        if (t1 >= windowStart && t1 < end) {
          recorder.record(t1 - t0, (t1 - windowStart) / 1000);
          recorder.complete((t1 - windowStart) / 1000);
          inWindow++;
        }
      } catch (err) {
        failed++;
        if (errors.length < 5) errors.push((err as Error).message);
        conn?.close();
        conn = undefined;
      }
    }
    conn?.close();
  }

  windowStart = performance.now() + job.warmupSeconds * 1000;
  end = windowStart + job.seconds * 1000;
  await Promise.all(Array.from({ length: job.concurrency }, (_, i) => worker(i)));
  const windowSec = Math.max(0.001, (Math.min(performance.now(), end) - windowStart) / 1000);
  return {
    enrollments: inWindow,
    failed,
    windowSec: Math.round(windowSec * 100) / 100,
    enrollPerSec: Math.round(inWindow / windowSec),
    latency: recorder.summary(),
    timeline: recorder.timeline(windowSec),
    verified,
    deviceIds,
    errors,
  };
}

/** The service URLs of a DiscoverResponse (read with a pattern; the first response is fully parsed). */
function discoveredUrls(xml: string): { policy: string; enrollment: string } {
  const policy = /<EnrollmentPolicyServiceUrl>([^<]+)</.exec(xml)?.[1];
  const enrollment = /<EnrollmentServiceUrl>([^<]+)</.exec(xml)?.[1];
  if (!policy || !enrollment) throw new Error('DiscoverResponse without service URLs');
  return { policy, enrollment };
}

/** Password sign-ins on the Federated page (scrypt-verified), for `seconds`. */
export async function runSignIns(job: {
  readonly target: Target;
  readonly upn: string;
  readonly password: string;
  readonly concurrency: number;
  readonly seconds: number;
}): Promise<SignInResult> {
  const times: number[] = [];
  const errors: string[] = [];
  const start = performance.now();
  const end = start + job.seconds * 1000;
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      const conn = await connect(job.target);
      try {
        while (performance.now() < end) {
          const t0 = performance.now();
          try {
            await signIn(conn, job.upn, job.password);
            times.push(performance.now() - t0);
          } catch (err) {
            if (errors.length < 5) errors.push((err as Error).message);
            break;
          }
        }
      } finally {
        conn.close();
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  return {
    signIns: times.length,
    signInsPerSec: Math.round((times.length / elapsed) * 10) / 10,
    latency: summarize(times),
    errors,
  };
}
