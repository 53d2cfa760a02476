// ADMX-backed Policy CSP values (docs/protocol-notes.md#policy-csp; Microsoft "Understanding ADMX policies"): the
// node takes chr data holding an XML fragment, `<disabled/>` or `<enabled/>` followed by one
// `<data id="…" value="…"/>` per element of the policy's presentation. List elements carry their
// items separated by U+F000 (written `&#xF000;`).

export type AdmxState = 'enabled' | 'disabled';

export interface AdmxDataElement {
  readonly id: string;
  /** One value, or the items of a list element. */
  readonly value: string | readonly string[];
}

/** Escape for a double-quoted XML attribute value. */
export function escapeAttribute(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ATTRIBUTE_ESCAPES[c]!);
}

const ATTRIBUTE_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** Separator between the items of an ADMX list element. */
export const ADMX_LIST_SEPARATOR = '&#xF000;';

/**
 * The payload as the device must receive it once the SyncML `Data` is unescaped, e.g.
 * `<enabled/><data id="HomepageLocation" value="https://intranet/?a=1&amp;b=2"/>`.
 */
export function admxPayload(state: AdmxState, data: readonly AdmxDataElement[] = []): string {
  if (state === 'disabled') return '<disabled/>';
  let out = '<enabled/>';
  for (const element of data) {
    const value =
      typeof element.value === 'string'
        ? escapeAttribute(element.value)
        : element.value.map(escapeAttribute).join(ADMX_LIST_SEPARATOR);
    out += `<data id="${escapeAttribute(element.id)}" value="${value}"/>`;
  }
  return out;
}
