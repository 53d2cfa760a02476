// The XML 1.0 character rule (XML 1.0 §2.2 production [2] Char), in one place for every reader and
// writer in src/codec:
//   Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
// So NUL and the other C0 controls, lone surrogates and U+FFFE/U+FFFF never appear in a document,
// neither raw nor as a character reference (`&#1;`, `&#x0;`, `&#xD800;` are not well-formed, WFC:
// Legal Character, §4.1). Readers refuse such input; writers replace such characters with U+FFFD,
// so nothing the server writes can be ill-formed.

/** One character XML 1.0 does not allow (a lone surrogate counts as one character). */
const ILLEGAL = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const ILLEGAL_ALL = new RegExp(ILLEGAL.source, 'gu');

/** The character written in place of one XML 1.0 does not allow. */
export const REPLACEMENT_CHAR = '\uFFFD';

/** Is this code point a `Char` of XML 1.0? */
export function isXmlChar(codePoint: number): boolean {
  return (
    codePoint === 0x9 ||
    codePoint === 0xa ||
    codePoint === 0xd ||
    (codePoint >= 0x20 && codePoint <= 0xd7ff) ||
    (codePoint >= 0xe000 && codePoint <= 0xfffd) ||
    (codePoint >= 0x10000 && codePoint <= 0x10ffff)
  );
}

export interface IllegalChar {
  /** UTF-16 index in the text. */
  readonly index: number;
  readonly codePoint: number;
}

/** The first character XML 1.0 does not allow, or undefined when the text is clean. */
export function findIllegalXmlChar(text: string): IllegalChar | undefined {
  const m = ILLEGAL.exec(text);
  return m ? { index: m.index, codePoint: m[0].codePointAt(0)! } : undefined;
}

/** The text with every character XML 1.0 does not allow replaced by U+FFFD (writers). */
export function toXmlChars(text: string): string {
  return ILLEGAL.test(text) ? text.replace(ILLEGAL_ALL, REPLACEMENT_CHAR) : text;
}

const DEC_REF = /^#[0-9]{1,8}$/;
const HEX_REF = /^#x[0-9a-fA-F]{1,8}$/;

/**
 * The code point of a character reference body (`#65`, `#x41`, without `&` and `;`), or undefined
 * when it is malformed or names a character XML 1.0 does not allow.
 */
export function decodeCharRef(ref: string): number | undefined {
  let code: number;
  if (HEX_REF.test(ref)) code = Number.parseInt(ref.slice(2), 16);
  else if (DEC_REF.test(ref)) code = Number.parseInt(ref.slice(1), 10);
  else return undefined;
  return isXmlChar(code) ? code : undefined;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Bytes as UTF-8 text; undefined when they are not valid UTF-8 (a fatal error in XML 1.0 §4.3.3). */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** `U+0001` for messages and logs. */
export function codePointLabel(codePoint: number): string {
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}
