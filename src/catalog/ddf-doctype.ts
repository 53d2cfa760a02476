// Removes the prolog's `<!DOCTYPE …>` from a DDF file so the hardened `parseXml` (which refuses
// any DOCTYPE) can read the rest. Nothing in the declaration is used: the external DTD
// (`DM_DDF-V1_2.dtd`) is never fetched and the internal subset is dropped, so no entity it might
// declare can expand. The body must then be plain XML; `parseXml` still rejects a second DOCTYPE or
// any ENTITY declaration left anywhere.

export class DoctypeError extends Error {
  override name = 'DoctypeError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/**
 * Text with a leading BOM and the prolog DOCTYPE (including its `[ … ]` internal subset, quoted
 * strings, comments and processing instructions inside it) removed. Only the prolog is searched: a
 * DOCTYPE after the root element starts is left for the XML parser to reject.
 */
export function stripDoctype(input: string): string {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const start = prologDoctypeStart(text);
  if (start === -1) return text;
  const end = doctypeEnd(text, start);
  return text.slice(0, start) + text.slice(end);
}

/** Offset of `<!DOCTYPE` if it comes before the first element, else -1. */
function prologDoctypeStart(text: string): number {
  let i = 0;
  for (;;) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (text.startsWith('<?', i)) i = skipPast(text, i + 2, '?>');
    else if (text.startsWith('<!--', i)) i = skipPast(text, i + 4, '-->');
    else if (text.slice(i, i + 9).toUpperCase() === '<!DOCTYPE') return i;
    else return -1;
  }
}

/** Offset just past the `>` closing the DOCTYPE that starts at `start`. */
function doctypeEnd(text: string, start: number): number {
  let i = start + '<!DOCTYPE'.length;
  let inSubset = false;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' || c === "'") {
      i = skipPast(text, i + 1, c);
    } else if (inSubset && text.startsWith('<!--', i)) {
      i = skipPast(text, i + 4, '-->');
    } else if (inSubset && text.startsWith('<?', i)) {
      i = skipPast(text, i + 2, '?>');
    } else if (c === '[' && !inSubset) {
      inSubset = true;
      i++;
    } else if (c === ']' && inSubset) {
      inSubset = false;
      i++;
    } else if (c === '>' && !inSubset) {
      return i + 1;
    } else {
      i++;
    }
  }
  throw new DoctypeError('unterminated DOCTYPE declaration', start);
}

/** Offset just past the next `terminator` at or after `from`. */
function skipPast(text: string, from: number, terminator: string): number {
  const at = text.indexOf(terminator, from);
  if (at === -1) throw new DoctypeError(`unterminated construct, expected "${terminator}"`, from);
  return at + terminator.length;
}
