/**
 * Echo option values for request freshness and address verification (RFC 9175 §2).
 * Values are stateless: 4 bytes of server time (seconds) and a 4-byte keyed check over the
 * time and the client's address and port, keyed with 8 random bytes drawn at construction.
 * A request carrying a value this endpoint issued to that address less than `freshnessMs` ago
 * is fresh (§2.3), and its address counts as verified (§2.4) in a small ring of peers.
 * Deviation, also in README: the check is a keyed FNV-1a hash, not a cryptographic MAC; it
 * stops replays of stale requests and blind spoofing, not an attacker who observes the
 * traffic and searches 2^32 values.
 */
import { OPT_ECHO } from "../options.js";
import type { MessageView } from "../wire/view.js";

export class EchoGuard {
	readonly #secret = new Uint8Array(8);
	/** The last value issued (borrowed until the next issue()). */
	readonly value = new Uint8Array(8);
	readonly #addresses: string[] = [];
	readonly #ports: Uint16Array;
	#next = 0;
	readonly freshnessMs: number;

	constructor(random: (out: Uint8Array) => void, verifiedPeers: number, freshnessMs: number) {
		random(this.#secret);
		this.freshnessMs = freshnessMs;
		this.#ports = new Uint16Array(verifiedPeers);
		for (let i = 0; i < verifiedPeers; i++) this.#addresses.push("");
	}

	#check(seconds: number, address: string, port: number): number {
		let h = 0x811c9dc5;
		const s = this.#secret;
		for (let i = 0; i < 8; i++) h = Math.imul(h ^ s[i]!, 0x01000193) >>> 0;
		for (let i = 0; i < 4; i++) h = Math.imul(h ^ ((seconds >>> (8 * i)) & 0xff), 0x01000193) >>> 0;
		for (let i = 0; i < address.length; i++) h = Math.imul(h ^ address.charCodeAt(i), 0x01000193) >>> 0;
		h = Math.imul(h ^ (port & 0xff), 0x01000193) >>> 0;
		return Math.imul(h ^ (port >> 8), 0x01000193) >>> 0;
	}

	/** Fills and returns `value`: a fresh Echo for address:port at time `now` (ms). */
	issue(address: string, port: number, now: number): Uint8Array {
		const t = Math.floor(now / 1000) >>> 0;
		const c = this.#check(t, address, port);
		const v = this.value;
		v[0] = t >>> 24; v[1] = (t >>> 16) & 0xff; v[2] = (t >>> 8) & 0xff; v[3] = t & 0xff;
		v[4] = c >>> 24; v[5] = (c >>> 16) & 0xff; v[6] = (c >>> 8) & 0xff; v[7] = c & 0xff;
		return v;
	}

	/** §2.3: does request `v` carry a fresh Echo issued to address:port? Marks the peer verified if so. */
	fresh(v: MessageView, address: string, port: number, now: number): boolean {
		const i = v.find(OPT_ECHO);
		if (i < 0 || v.optLength[i] !== 8) return false;
		const b = v.bytes;
		const o = v.optOffset[i]!;
		const t = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
		const c = ((b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!) >>> 0;
		if (c !== this.#check(t, address, port)) return false;
		const age = now - t * 1000;
		if (age < -1000 || age > this.freshnessMs) return false;
		this.#verify(address, port);
		return true;
	}

	#verify(address: string, port: number): void {
		if (this.verified(address, port)) return;
		const i = this.#next;
		this.#addresses[i] = address;
		this.#ports[i] = port;
		this.#next = i + 1 === this.#ports.length ? 0 : i + 1;
	}

	/** §2.4: has address:port shown it receives what is sent to it? */
	verified(address: string, port: number): boolean {
		for (let i = 0; i < this.#ports.length; i++) if (this.#ports[i] === port && this.#addresses[i] === address) return true;
		return false;
	}
}
