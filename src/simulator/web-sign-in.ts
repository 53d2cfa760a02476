// The Federated sign-in as the device's Web Authentication Broker experiences it (docs/protocol-notes.md#federated-sign-in):
// open `AuthenticationServiceUrl?appru=…&login_hint=…`, fill the page's form (user name into the
// text field, password into the password field, hidden fields kept), submit it, and take the
// `wresult` from the form that finally posts to the `ms-app://` return URI.
import type { Transport } from './transport.js';

/** What the Settings app passes as `appru` (docs/protocol-notes.md#federated-sign-in). */
export const SETTINGS_APPRU = 'ms-app://windows.immersivecontrolpanel';

interface HtmlForm {
  readonly action: string;
  readonly inputs: ReadonlyArray<{ readonly name: string; readonly type: string; readonly value: string }>;
}

const ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  '#39': "'",
};

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1));
      return Number.isFinite(code) ? String.fromCodePoint(code) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

function attribute(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  const raw = m?.[1] ?? m?.[2] ?? m?.[3];
  return raw === undefined ? undefined : decodeEntities(raw);
}

/** The forms of a page with their input fields (enough HTML for a sign-in page). */
export function readForms(html: string): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const inputs = [...m[2]!.matchAll(/<input\b[^>]*>/gi)].map(([tag]) => ({
      name: attribute(tag, 'name') ?? '',
      type: (attribute(tag, 'type') ?? 'text').toLowerCase(),
      value: attribute(tag, 'value') ?? '',
    }));
    forms.push({ action: attribute(m[1]!, 'action') ?? '', inputs });
  }
  return forms;
}

export class SignInFailed extends Error {
  override name = 'SignInFailed';
}

/** Runs the sign-in page and returns the `wresult` token (docs/protocol-notes.md#federated-sign-in). */
export async function federatedSignIn(
  transport: Transport,
  authUrl: string,
  email: string,
  password: string,
): Promise<string> {
  const url = new URL(authUrl);
  url.searchParams.append('appru', SETTINGS_APPRU);
  url.searchParams.append('login_hint', email);
  let page = await transport.send({ method: 'GET', url: url.toString(), headers: {}, body: '' });
  let pageUrl = url;
  for (let step = 0; step < 5; step++) {
    if (page.status !== 200) throw new SignInFailed(`sign-in page answered HTTP ${page.status}`);
    const forms = readForms(page.body);
    const done = forms.find((f) => f.action.toLowerCase().startsWith('ms-app://'));
    if (done) {
      const token = done.inputs.find((i) => i.name === 'wresult')?.value;
      if (!token) throw new SignInFailed('the sign-in page posted to the app without a wresult');
      return token;
    }
    const form = forms.find((f) => f.inputs.some((i) => i.type === 'password'));
    if (!form) throw new SignInFailed('the sign-in page has no password form');
    if (step > 0 && /class="error"|role="alert"/.test(page.body))
      throw new SignInFailed('the sign-in page refused the credentials');
    const fields = new URLSearchParams();
    let userFilled = false;
    for (const input of form.inputs) {
      if (!input.name || input.type === 'submit') continue;
      if (input.type === 'password') fields.append(input.name, password);
      else if ((input.type === 'text' || input.type === 'email') && !userFilled) {
        fields.append(input.name, email);
        userFilled = true;
      } else fields.append(input.name, input.value);
    }
    pageUrl = new URL(form.action || pageUrl.toString(), pageUrl);
    page = await transport.send({
      method: 'POST',
      url: pageUrl.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: fields.toString(),
    });
  }
  throw new SignInFailed('the sign-in page did not finish');
}
