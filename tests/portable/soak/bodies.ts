// Self-describing bodies for the soak test (tests/portable/soak/model.ts): every request body
// and every large response body says what it is and how long it is, and every byte after its
// header follows from that, so a handler or a client can tell a whole body from a truncated,
// empty, stitched or foreign one without keeping a copy. Portable: no Node APIs.

/** Length of the header of an upload body: "U" + 8 hex digits + ":" + 5 digits + ":". */
export const UPLOAD_HEADER = 16;

function hex8(n: number): string {
	let s = (n >>> 0).toString(16);
	while (s.length < 8) s = "0" + s;
	return s;
}

function dec5(n: number): string {
	let s = String(n);
	while (s.length < 5) s = "0" + s;
	return s;
}

function fill(out: Uint8Array, from: number, seed: number): void {
	for (let i = from; i < out.length; i++) out[i] = 0x20 + ((seed * 31 + i * 7 + (i >> 4)) % 95);
}

function check(b: Uint8Array, from: number, seed: number): boolean {
	for (let i = from; i < b.length; i++) if (b[i] !== 0x20 + ((seed * 31 + i * 7 + (i >> 4)) % 95)) return false;
	return true;
}

function ascii(s: string, out: Uint8Array, at: number): void {
	for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
}

function readAscii(b: Uint8Array, from: number, to: number): string {
	let s = "";
	for (let i = from; i < to && i < b.length; i++) s += String.fromCharCode(b[i]!);
	return s;
}

/** The body of upload `id`, `length` bytes (at least UPLOAD_HEADER). */
export function uploadBody(id: number, length: number): Uint8Array {
	const n = length < UPLOAD_HEADER ? UPLOAD_HEADER : length;
	const out = new Uint8Array(n);
	ascii("U" + hex8(id) + ":" + dec5(n) + ":", out, 0);
	fill(out, UPLOAD_HEADER, id);
	return out;
}

/** The upload id of a whole, intact upload body; -1 for anything else (empty, cut, altered). */
export function uploadId(b: Uint8Array): number {
	if (b.length < UPLOAD_HEADER || b[0] !== 0x55 || b[9] !== 0x3a || b[15] !== 0x3a) return -1;
	const id = parseInt(readAscii(b, 1, 9), 16);
	const length = Number(readAscii(b, 10, 15));
	if (!(id >= 0) || length !== b.length) return -1;
	return check(b, UPLOAD_HEADER, id) ? id : -1;
}

/** The body of `/big?s=N`: "B" + 5 digits + ":" and a pattern, N bytes (at least 7). */
export function bigBody(size: number): Uint8Array {
	const n = size < 7 ? 7 : size;
	const out = new Uint8Array(n);
	ascii("B" + dec5(n) + ":", out, 0);
	fill(out, 7, n);
	return out;
}

/** True when `b` is the whole body of `/big?s=size`. */
export function isBigBody(b: Uint8Array, size: number): boolean {
	const n = size < 7 ? 7 : size;
	if (b.length !== n || readAscii(b, 0, 7) !== "B" + dec5(n) + ":") return false;
	return check(b, 7, n);
}

/**
 * The representation of an observable resource as built for one observer: it names the
 * registration it was built for (address, port, token) and the resource's version, padded with
 * dots to `size` bytes. A notification whose text names another registration than the one it
 * was sent to is misrouted.
 */
export function observeBody(address: string, port: number, tokenHex: string, version: number, size: number): string {
	let s = "O|" + address + "|" + port + "|" + tokenHex + "|" + version + "|";
	while (s.length < size) s += ".";
	return s;
}

/** The parts of an observeBody (its first block is enough), or null. */
export function parseObserveBody(b: Uint8Array): { address: string; port: number; token: string; version: number } | null {
	if (b.length < 2 || b[0] !== 0x4f || b[1] !== 0x7c) return null;
	const parts = readAscii(b, 0, Math.min(b.length, 96)).split("|");
	if (parts.length < 6) return null;
	return { address: parts[1]!, port: Number(parts[2]), token: parts[3]!, version: Number(parts[4]) };
}

/** Lowercase hex of bytes. */
export function hexOf(b: Uint8Array, offset = 0, length = b.length - offset): string {
	let s = "";
	for (let i = offset; i < offset + length; i++) s += (b[i]! < 16 ? "0" : "") + b[i]!.toString(16);
	return s;
}
