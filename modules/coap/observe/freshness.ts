/**
 * Observe notification freshness (RFC 7641 §3.4): a notification is newer than the last one
 * if its 24-bit sequence number is ahead in serial-number arithmetic, or if more than 128
 * seconds have passed since the last one was received.
 */

const HALF = 1 << 23; // 2^23
const MASK = (1 << 24) - 1;

/**
 * RFC 7641 §3.4: is notification (v2, received at t2 ms) fresher than (v1, received at t1 ms)?
 *   (V1 < V2 and V2 - V1 < 2^23) or (V1 > V2 and V1 - V2 > 2^23) or (T2 > T1 + 128 seconds)
 */
export function isFresher(v1: number, t1: number, v2: number, t2: number): boolean {
	v1 &= MASK;
	v2 &= MASK;
	return (v1 < v2 && v2 - v1 < HALF) || (v1 > v2 && v1 - v2 > HALF) || t2 > t1 + 128000;
}

/** Next 24-bit Observe sequence number (RFC 7641 §4.4: wraps modulo 2^24). */
export function nextSequence(v: number): number {
	return (v + 1) & MASK;
}
