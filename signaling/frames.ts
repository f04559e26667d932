import { MAX_CLIENT_MESSAGE_BYTES, MAX_JSON_DEPTH } from '../protocol/limits.ts';

/*
 * Checks on a client's text frame before it is parsed. Node's ws refuses oversized frames before buffering
 * them (maxPayload); this is the same limit for runtimes without that option, counted in UTF-8 bytes as on the
 * wire. Nesting is bounded so that deeply nested JSON is a BAD_REQUEST here rather than a stack overflow
 * further on (in a serializer, mediasoup, or the bus).
 */

const encoder = new TextEncoder();

export function tooLarge(text: string): boolean {
  // A UTF-16 unit is at most 3 UTF-8 bytes: most frames are decided without encoding them.
  if (text.length * 3 <= MAX_CLIENT_MESSAGE_BYTES) return false;
  if (text.length > MAX_CLIENT_MESSAGE_BYTES) return true;
  return encoder.encode(text).length > MAX_CLIENT_MESSAGE_BYTES;
}

/** Whether objects and arrays nest deeper than MAX_JSON_DEPTH (brackets inside strings do not count). */
export function tooDeep(text: string): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) return true;
    } else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  return false;
}
