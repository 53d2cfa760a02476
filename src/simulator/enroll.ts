// MS-MDE2 enrollment from the device's side (docs/protocol-notes.md#enrollment-flow): discovery GET probe,
// Discover, the Federated sign-in page when the server asks for it, GetPolicies,
// RequestSecurityToken with the device's own key, then the provisioning doc.
import { randomUUID } from 'node:crypto';
import { buildCsr, type DeviceKey, generateDeviceKey } from './csr.js';
import {
  discoverRequest,
  type EnrollmentCredentials,
  getPoliciesRequest,
  readDiscoverResponse,
  readGetPoliciesResponse,
  readRstrResponse,
  rstRequest,
  SOAP_CONTENT_TYPE,
} from './enroll-messages.js';
import type { SimulatedProfile } from './profile.js';
import { applyProvisioningDoc, type ProvisionedAccount } from './provisioning.js';
import type { HttpResponseIn, Transport } from './transport.js';
import { federatedSignIn } from './web-sign-in.js';

export const DISCOVERY_PATH = '/EnrollmentServer/Discovery.svc';

export interface EnrollInput {
  /** Server base URL (`https://host:port`) or the full discovery URL. */
  readonly server: string;
  readonly email: string;
  readonly password: string;
  readonly profile: SimulatedProfile;
  /** Plain TLS transport (no client certificate yet). */
  readonly transport: Transport;
  /** Reuse a key instead of generating one (load tests; a real device makes a new one). */
  readonly key?: DeviceKey;
  /** Auth policies offered in Discover; Windows offers both and the server picks (docs/protocol-notes.md#discovery). */
  readonly authPolicies?: readonly ('OnPremise' | 'Federated')[];
}

export interface EnrollResult {
  readonly account: ProvisionedAccount;
  readonly key: DeviceKey;
  /** Raw provisioning doc (kept for inspection). */
  readonly provisioningDoc: string;
}

const ENROLL_HEADERS = { 'user-agent': 'ENROLLClient' } as const;

export function discoveryUrl(server: string): string {
  return server.includes('/EnrollmentServer/') ? server : `${server.replace(/\/+$/, '')}${DISCOVERY_PATH}`;
}

/** Windows' AdditionalContext, in its order (docs/protocol-notes.md#request-security-token). */
export function enrollmentContext(profile: SimulatedProfile): Array<[string, string]> {
  return [
    ['UXInitiated', 'true'],
    ['HWDevID', profile.hwDevId],
    ['Locale', profile.language],
    ['TargetedUserLoggedIn', profile.loginStatus === 'user' ? 'true' : 'false'],
    ['OSEdition', profile.osEdition],
    ['DeviceName', profile.deviceName],
    ...profile.macs.map((mac): [string, string] => ['MAC', mac]),
    ['DeviceID', profile.deviceId],
    ['EnrollmentType', profile.enrollmentType],
    ['DeviceType', 'CIMClient_Windows'],
    ['OSVersion', profile.osVersion],
    ['ApplicationVersion', profile.osVersion],
    ['NotInOobe', 'false'],
  ];
}

function expectOk(step: string, res: HttpResponseIn): string {
  // SOAP faults may come with 200 or 500 (docs/protocol-notes.md#soap-faults); the body decides.
  if (res.status !== 200 && !res.body.includes('Fault')) {
    throw new Error(`${step}: server answered HTTP ${res.status}`);
  }
  return res.body;
}

export async function enroll(input: EnrollInput): Promise<EnrollResult> {
  const { transport, profile } = input;
  const discovery = discoveryUrl(input.server);
  const keyPromise = input.key ? Promise.resolve(input.key) : generateDeviceKey();

  const probe = await transport.send({ method: 'GET', url: discovery, headers: ENROLL_HEADERS, body: '' });
  if (probe.status !== 200) throw new Error(`discovery probe: server answered HTTP ${probe.status}`);

  const post = (url: string, body: string) =>
    transport.send({
      method: 'POST',
      url,
      headers: { ...ENROLL_HEADERS, 'content-type': SOAP_CONTENT_TYPE },
      body,
    });

  const discovered = readDiscoverResponse(
    expectOk(
      'Discover',
      await post(
        discovery,
        discoverRequest(`urn:uuid:${randomUUID()}`, discovery, {
          email: input.email,
          osVersion: profile.osVersion,
          osEdition: profile.osEdition,
          authPolicies: input.authPolicies ?? ['OnPremise', 'Federated'],
        }),
      ),
    ),
  );
  let creds: EnrollmentCredentials;
  if (discovered.authPolicy === 'Federated') {
    if (!discovered.authenticationUrl)
      throw new Error('Federated discovery answer without AuthenticationServiceUrl');
    const token = await federatedSignIn(transport, discovered.authenticationUrl, input.email, input.password);
    creds = { kind: 'token', token };
  } else if (discovered.authPolicy === 'OnPremise') {
    creds = {
      kind: 'password',
      username: input.email,
      password: input.password,
      tokenId: `uuid-${randomUUID()}-1`,
    };
  } else {
    throw new Error(`server chose auth policy ${discovered.authPolicy}, which the device did not offer`);
  }

  let hash: 'sha1' | 'sha256' = 'sha1';
  if (discovered.policyUrl) {
    const policy = readGetPoliciesResponse(
      expectOk(
        'GetPolicies',
        await post(
          discovered.policyUrl,
          getPoliciesRequest(`urn:uuid:${randomUUID()}`, discovered.policyUrl, creds),
        ),
      ),
    );
    hash = policy.hash;
  }

  const key = await keyPromise;
  const csr = buildCsr(key, profile.deviceId, hash);
  const rst = rstRequest(
    `urn:uuid:${randomUUID()}`,
    discovered.enrollmentUrl,
    creds,
    csr,
    enrollmentContext(profile),
  );
  const provisioningDoc = readRstrResponse(
    expectOk('RequestSecurityToken', await post(discovered.enrollmentUrl, rst)),
  );
  return { account: applyProvisioningDoc(provisioningDoc, key.spkiDer), key, provisioningDoc };
}
