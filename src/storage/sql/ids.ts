// Time-ordered identifiers (RFC 9562 UUID version 7): 48-bit Unix milliseconds, then a counter and
// random bits. New rows append to the right edge of an index instead of landing on a random page,
// and sorting by id is sorting by creation (monotonic within this process).
import { randomFillSync } from 'node:crypto';

let lastMs = 0;
let counter = 0;
const random = Buffer.alloc(10);

export function timeOrderedId(now: number = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    randomFillSync(random);
    counter = random.readUInt16BE(0) & 0x7ff; // start low so the 12-bit counter rarely overflows
  } else {
    counter += 1;
    if (counter > 0xfff) {
      // More than 2,048–4,096 ids in one millisecond: borrow the next one.
      lastMs += 1;
      counter = 0;
    }
    randomFillSync(random);
  }
  const ms = lastMs.toString(16).padStart(12, '0');
  const a = (0x7000 | counter).toString(16);
  const b = ((random.readUInt16BE(2) & 0x3fff) | 0x8000).toString(16);
  const c = random.toString('hex', 4, 10);
  return `${ms.slice(0, 8)}-${ms.slice(8)}-${a}-${b}-${c}`;
}
