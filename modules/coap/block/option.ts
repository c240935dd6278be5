/**
 * Block1/Block2 option values (RFC 7959 §2.2): NUM (up to 20 bits), M (more), SZX (block size
 * 2^(SZX+4), 16..1024). Values are packed into one number: NUM << 4 | M << 3 | SZX, the
 * uint the option carries on the wire. SZX 7 is reserved for BERT over reliable transports
 * (RFC 8323 §6) and is invalid over UDP.
 */

/** Block size in bytes for a size exponent: 16 << szx. */
export function blockSize(szx: number): number {
	return 16 << szx;
}

/** Largest SZX whose block size is at most `bytes` (0 for anything below 32). */
export function szxFor(bytes: number): number {
	let szx = 0;
	while (szx < 6 && 16 << (szx + 1) <= bytes) szx++;
	return szx;
}

export function blockValue(num: number, more: boolean, szx: number): number {
	return num * 16 + (more ? 8 : 0) + szx;
}

export function blockNum(value: number): number {
	return Math.floor(value / 16);
}

export function blockMore(value: number): boolean {
	return (value & 8) !== 0;
}

export function blockSzx(value: number): number {
	return value & 7;
}

/** RFC 7959 §2.2: valid over UDP when SZX < 7 and NUM fits 20 bits. */
export function blockValid(value: number): boolean {
	return (value & 7) !== 7 && value < 1 << 24;
}
