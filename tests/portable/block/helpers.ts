// Shared pieces of the block-wise (RFC 7959) and Observe (RFC 7641) tests: option numbers,
// Block option values computed here independently of modules/coap/block/option.ts,
// deterministic bodies, and raw exchanges over the virtual network (send hand-written bytes,
// run the network until the matching reply arrives). Portable: no Node APIs.
import type { Endpoint } from "../../../modules/coap/endpoint.js";
import { ACK, COAP, SERVER, decode, encode, optUint, type Msg, type MsgSpec, type RawPeer, type World } from "../endpoint/harness.js";

export const OPT_ETAG = 4;
export const OPT_OBSERVE = 6;
export const OPT_URI_PATH = 11;
export const OPT_CONTENT_FORMAT = 12;
export const OPT_MAX_AGE = 14;
export const OPT_URI_QUERY = 15;
export const OPT_BLOCK2 = 23;
export const OPT_BLOCK1 = 27;
export const OPT_SIZE2 = 28;
export const OPT_SIZE1 = 60;
export const OPT_REQUEST_TAG = 292;

/** RFC 7959 §2.2: NUM, M, SZX packed as the option's uint (NUM << 4 | M << 3 | SZX). */
export function block(num: number, more: boolean, szx: number): number {
	return num * 16 + (more ? 8 : 0) + szx;
}

/** Parts of a Block option value (or undefined when the option is absent, value -1). */
export function parts(value: number): { num: number; more: boolean; szx: number } | undefined {
	if (value < 0) return undefined;
	return { num: Math.floor(value / 16), more: (value & 8) !== 0, szx: value & 7 };
}

/** n bytes of a deterministic pseudo-random pattern (a different one per seed). */
export function pattern(n: number, seed = 1): Uint8Array {
	const out = new Uint8Array(n);
	let x = (seed * 2654435761) >>> 0 || 1;
	for (let i = 0; i < n; i++) {
		x ^= x << 13;
		x >>>= 0;
		x ^= x >>> 17;
		x ^= x << 5;
		x >>>= 0;
		out[i] = x & 0xff;
	}
	return out;
}

/** Index of the first difference, -1 when equal (length included). */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
	const n = Math.min(a.length, b.length);
	for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
	return a.length === b.length ? -1 : n;
}

/** ASCII bytes of a string (test data only). */
export function ascii(s: string): Uint8Array {
	const out = new Uint8Array(s.length);
	for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0x7f;
	return out;
}

/** Hex text of an option value (for comparing ETags), "" when absent. */
export function hexOf(v: Uint8Array | undefined): string {
	if (v === undefined) return "";
	let s = "";
	for (const b of v) s += (b < 16 ? "0" : "") + b.toString(16);
	return s;
}

/** A raw client: sends requests it writes itself to the server and returns the replies. */
export class RawClient {
	readonly w: World;
	readonly peer: RawPeer;
	mid = 0x1000;

	constructor(w: World, peer: RawPeer) {
		this.w = w;
		this.peer = peer;
	}

	/**
	 * Sends a CON request (MID chosen here unless given) and runs the network until the reply
	 * with that MID (an ACK) arrives; returns it decoded. Throws when none comes within 5 s.
	 */
	async ask(spec: MsgSpec, address = SERVER, port = COAP): Promise<Msg> {
		const mid = spec.mid ?? ++this.mid;
		const before = this.peer.received.length;
		this.peer.send(encode({ token: "c0ffee01", ...spec, mid }), address, port);
		let reply: Msg | undefined;
		const found = await this.w.net.runUntil(() => {
			for (let i = before; i < this.peer.received.length; i++) {
				const m = decode(this.peer.received[i]!.bytes);
				if (m.type === ACK && m.mid === mid) {
					reply = m;
					return true;
				}
			}
			return false;
		}, 5000);
		if (!found || reply === undefined) throw new Error("no ACK for MID " + mid);
		return reply;
	}
}

/** Block2 value of a decoded message, parsed (undefined when absent). */
export function block2Of(m: Msg): { num: number; more: boolean; szx: number } | undefined {
	return parts(optUint(m, OPT_BLOCK2));
}

export function block1Of(m: Msg): { num: number; more: boolean; szx: number } | undefined {
	return parts(optUint(m, OPT_BLOCK1));
}

/** Nothing is left in use: client and server slots, transfers, timers armed. */
export function assertQuiet(eps: readonly Endpoint[], check: (cond: boolean, what: string) => void): void {
	for (const ep of eps) {
		check(ep.clientSlotsInUse === 0, "client slots in use: " + ep.clientSlotsInUse);
		check(ep.serverSlotsInUse === 0, "server slots in use: " + ep.serverSlotsInUse);
		check(ep.transfersInUse === 0, "transfers in use: " + ep.transfersInUse);
		check(ep.nextDeadline() === -1, "a deadline is still armed: " + ep.nextDeadline());
	}
}
