/**
 * RFC 7252 §3.2 "uint" option values: big-endian, shortest form (zero is the empty value).
 * Values are limited to 32 bits (Max-Age, Size1/2 are the widest options: 4 bytes).
 */

/** Bytes needed for `value` in the shortest uint form (0..4). */
export function uintLength(value: number): number {
	if (value === 0) return 0;
	if (value < 0x100) return 1;
	if (value < 0x10000) return 2;
	if (value < 0x1000000) return 3;
	return 4;
}

/** Reads an unsigned integer of `length` bytes (0..4) from bytes[offset..]. Longer: the low 4 bytes. */
export function readUint(bytes: Uint8Array, offset: number, length: number): number {
	let v = 0;
	const start = length > 4 ? offset + length - 4 : offset;
	for (let i = start; i < offset + length; i++) v = v * 256 + bytes[i]!;
	return v;
}

/** Writes `value` in `length` bytes big-endian at `offset`. */
export function writeUint(bytes: Uint8Array, offset: number, value: number, length: number): void {
	for (let i = length - 1; i >= 0; i--) {
		bytes[offset + i] = value & 0xff;
		value = Math.floor(value / 256);
	}
}
