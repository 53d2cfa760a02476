/**
 * Strict checks of what the server writes, independent of the server's own XML code: `saxes`
 * enforces XML 1.0 well-formedness including its character rules (NUL and other C0 controls, lone
 * surrogates, U+FFFE/U+FFFF, raw or as `&#…;`) and namespace well-formedness.
 *
 * ```ts
 * expect(wellFormedError(res.body)).toBeUndefined();
 * ```
 */
import { SaxesParser } from 'saxes';

/** Why the text is not a well-formed, namespace-well-formed XML 1.0 document; undefined when it is. */
export function wellFormedError(xml: string): string | undefined {
  const parser = new SaxesParser({ xmlns: true, position: true });
  let error: string | undefined;
  let roots = 0;
  let depth = 0;
  parser.on('error', (err) => {
    error ??= err.message;
  });
  parser.on('opentag', () => {
    if (depth === 0) roots++;
    depth++;
  });
  parser.on('closetag', () => {
    depth--;
  });
  try {
    parser.write(xml).close();
  } catch (err) {
    error ??= (err as Error).message;
  }
  if (error === undefined && roots !== 1) error = `expected one root element, found ${roots}`;
  return error;
}

/**
 * Characters an HTML document must not hold (HTML §13.2.3.5 / XML 1.0 §2.2): C0 controls other
 * than TAB/LF/CR (FF too), DEL, C1 controls, lone surrogates, U+FFFE/U+FFFF.
 */
export const ILLEGAL_IN_HTML = /[\u0000-\u0008\u000b-\u000c\u000e-\u001f\u007f-\u009f\uFFFE\uFFFF]|\p{Cs}/u;
