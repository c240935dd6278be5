/**
 * The link impairment model of the simulator: what a link does to one datagram (loss,
 * duplication, delay, jitter, reordering, MTU), drawn from a seeded PRNG in a fixed pattern.
 * The virtual network (network.ts) schedules its deliveries with it, and the desktop fleet
 * (sim/fleet/impaired-udp.ts) applies it to real loopback sockets, so `xscoap sim --loss 0.1`
 * impairs a device's link exactly as `new VirtualNetwork({ loss: 0.1 })` does in the tests.
 *
 * Determinism: a datagram that passes the MTU check takes eight draws, whatever the
 * conditions (loss, duplicate, then jitter, reorder and hold for each of two copies), so the
 * same seed and the same sequence of datagrams give the same fates.
 * In order: a copy that is not reordered never arrives before the previous in-order copy on
 * the same path (`lastArrival`, keyed by destination); a reordered one is held back by
 * 1..reorderDelayMs extra ms and does not hold back later datagrams.
 */
import type { Prng } from "./prng.js";

/** What a link does to datagrams. Times in ms. */
export interface LinkConditions {
	/** Probability (0..1) that a datagram is lost. */
	loss: number;
	/** Probability (0..1) that a datagram that is not lost arrives twice. */
	duplicate: number;
	/** Base one-way delay, ms (finite, ≥ 0). */
	delayMs: number;
	/** Extra delay, a whole number of ms drawn uniformly from 0..jitterMs (integer ≥ 0). */
	jitterMs: number;
	/**
	 * Probability (0..1) that a datagram is held back by 1..reorderDelayMs extra ms, so that
	 * later datagrams on the same path may overtake it. With `reorder: 0`, datagrams from one
	 * host to another arrive in the order they were sent (jitter never reorders them).
	 */
	reorder: number;
	/** Largest hold-back of a reordered datagram, ms (integer ≥ 1). */
	reorderDelayMs: number;
	/** Largest UDP payload, in bytes, the link carries; bigger datagrams are dropped. */
	mtu: number;
}

/**
 * No loss, 1 ms delay, no jitter, no duplication or reordering. mtu 1232: the largest UDP
 * payload that fits the IPv6 minimum MTU of 1280 (RFC 8200 §5) after 40 + 8 header bytes.
 */
export const DEFAULT_CONDITIONS: Readonly<LinkConditions> = Object.freeze({
	loss: 0,
	duplicate: 0,
	delayMs: 1,
	jitterMs: 0,
	reorder: 0,
	reorderDelayMs: 10,
	mtu: 1232,
});

export type DropReason = "loss" | "mtu" | "unbound";

/** The fate of one datagram, filled by `drawFate` (one instance reused by its owner). */
export class Fate {
	/** Why it is dropped ("loss" or "mtu"), or undefined when it arrives. */
	dropped: DropReason | undefined = undefined;
	/** Copies that arrive: 0 (dropped), 1, or 2 (duplicated). */
	copies = 0;
	/** Arrival time of each copy (absolute, on the caller's clock). */
	at0 = 0;
	at1 = 0;
	/** Whether each copy was held back (reordering). */
	reordered0 = false;
	reordered1 = false;
}

/**
 * Draws the fate of a datagram of `length` bytes sent at `now` to `to` under conditions `c`,
 * into `out`. `lastArrival` holds the sender's latest in-order arrival per destination and is
 * updated for the copies that keep order.
 */
export function drawFate(rng: Prng, c: LinkConditions, now: number, length: number, lastArrival: Map<string, number>, to: string, out: Fate): void {
	out.copies = 0;
	out.reordered0 = out.reordered1 = false;
	if (length > c.mtu) {
		out.dropped = "mtu";
		return;
	}
	// Fixed draw pattern (see the file header): loss, duplicate, then three per copy.
	const uLoss = rng.nextFloat();
	const uDuplicate = rng.nextFloat();
	const uJitter0 = rng.nextFloat();
	const uReorder0 = rng.nextFloat();
	const uHold0 = rng.nextFloat();
	const uJitter1 = rng.nextFloat();
	const uReorder1 = rng.nextFloat();
	const uHold1 = rng.nextFloat();
	if (uLoss < c.loss) {
		out.dropped = "loss";
		return;
	}
	out.dropped = undefined;
	out.copies = 1;
	out.at0 = arrival(c, now, lastArrival, to, uJitter0, uReorder0, uHold0);
	out.reordered0 = uReorder0 < c.reorder;
	if (uDuplicate < c.duplicate) {
		out.copies = 2;
		out.at1 = arrival(c, now, lastArrival, to, uJitter1, uReorder1, uHold1);
		out.reordered1 = uReorder1 < c.reorder;
	}
}

function arrival(c: LinkConditions, now: number, lastArrival: Map<string, number>, to: string, uJitter: number, uReorder: number, uHold: number): number {
	let at = now + c.delayMs + Math.floor(uJitter * (c.jitterMs + 1));
	if (uReorder < c.reorder) {
		// Held back, and it does not hold back later datagrams: they may overtake it.
		at += 1 + Math.floor(uHold * c.reorderDelayMs);
	} else {
		// In order on the path: never before the previous in-order datagram to this address.
		const last = lastArrival.get(to);
		if (last !== undefined && at < last) at = last;
		lastArrival.set(to, at);
	}
	return at;
}

function checkProbability(name: string, value: number | undefined): void {
	if (value === undefined) return;
	if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
		throw new RangeError(`${name} must be a probability in 0..1, got ${String(value)}`);
	}
}

function checkInteger(name: string, value: number | undefined, min: number): void {
	if (value === undefined) return;
	if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
		throw new RangeError(`${name} must be an integer ≥ ${min}, got ${String(value)}`);
	}
}

/** @throws RangeError for a probability outside 0..1, a negative or non-finite delay, a non-integer jitter, reorder delay or mtu. */
export function checkConditions(c: Partial<LinkConditions>): void {
	if (c === null || typeof c !== "object") throw new TypeError("conditions must be an object");
	checkProbability("loss", c.loss);
	checkProbability("duplicate", c.duplicate);
	checkProbability("reorder", c.reorder);
	if (c.delayMs !== undefined && (typeof c.delayMs !== "number" || !Number.isFinite(c.delayMs) || c.delayMs < 0)) {
		throw new RangeError(`delayMs must be a finite number ≥ 0, got ${String(c.delayMs)}`);
	}
	checkInteger("jitterMs", c.jitterMs, 0);
	checkInteger("reorderDelayMs", c.reorderDelayMs, 1);
	checkInteger("mtu", c.mtu, 0);
}
