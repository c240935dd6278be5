// Portable byte helpers for tests (Node and XS): hex text <-> Uint8Array.

/** Parses hex digits into bytes; whitespace anywhere is ignored ("40 01 7d 34"). Throws TypeError on bad input. */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, "");
  if (digits.length % 2 !== 0) throw new TypeError(`hex: odd number of digits in ${JSON.stringify(text)}`);
  if (!/^[0-9a-fA-F]*$/.test(digits)) throw new TypeError(`hex: not a hex string: ${JSON.stringify(text)}`);
  const bytes = new Uint8Array(digits.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** Lowercase hex of the bytes, optionally with a separator between bytes (toHex(b, " ")). */
export function toHex(bytes: Uint8Array, separator = ""): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    if (i && separator) out += separator;
    out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  }
  return out;
}
