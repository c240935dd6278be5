// Raw peers for the Observe tests (RFC 7641): a Watcher plays the observing client with
// hand-written requests and records every notification (acknowledging CON ones unless told not
// to); a FakeSource plays the observed server, answering the registration and sending
// notifications the test writes. Portable: no Node APIs.
import { ACK, CON, COAP, NON, RST, SERVER, World, decode, encode, optUint, type Msg, type OptValue, type RawPeer } from "../endpoint/harness.js";
import { OPT_OBSERVE, OPT_URI_PATH } from "../block/helpers.js";

export interface Note {
	time: number;
	msg: Msg;
}

/** An observing client written by hand. */
export class Watcher {
	readonly w: World;
	readonly peer: RawPeer;
	readonly token: string;
	/** Acknowledge CON notifications (default true). */
	ackCon = true;
	/** Answer every notification with Reset instead. */
	resetAll = false;
	/** Notifications received (CON or NON with the token, after the registration's ACK). */
	readonly notes: Note[] = [];
	mid = 0x2000;

	constructor(w: World, peer: RawPeer, token: string) {
		this.w = w;
		this.peer = peer;
		this.token = token;
		peer.onReceive = (r, p) => {
			const m = decode(r.bytes);
			if (m.token !== this.token || (m.type !== CON && m.type !== NON)) return;
			this.notes.push({ time: r.time, msg: m });
			if (this.resetAll) p.send(encode({ type: RST, code: 0, mid: m.mid }), r.address, r.port);
			else if (m.type === CON && this.ackCon) p.send(encode({ type: ACK, code: 0, mid: m.mid }), r.address, r.port);
		};
	}

	/** Sends a CON GET (Observe=observe unless -1) and runs until its ACK; returns the ACK. */
	async get(path: string, observe = 0, extra: readonly (readonly [number, OptValue])[] = [], address = SERVER): Promise<Msg> {
		const mid = ++this.mid;
		const before = this.peer.received.length;
		const options: [number, OptValue][] = path.split("/").filter((s) => s.length > 0).map((s): [number, OptValue] => [OPT_URI_PATH, s]);
		if (observe >= 0) options.push([OPT_OBSERVE, observe]);
		for (const o of extra) options.push([o[0], o[1]]);
		this.peer.send(encode({ type: CON, code: 1, mid, token: this.token, options }), address, COAP);
		let reply: Msg | undefined;
		const ok = await this.w.net.runUntil(() => {
			for (let i = before; i < this.peer.received.length; i++) {
				const m = decode(this.peer.received[i]!.bytes);
				if (m.type === ACK && m.mid === mid) {
					reply = m;
					return true;
				}
			}
			return false;
		}, 5000);
		if (!ok || reply === undefined) throw new Error("no ACK to the GET");
		return reply;
	}

	/** Observe numbers of the notifications so far. */
	seqs(): number[] {
		return this.notes.map((n) => optUint(n.msg, OPT_OBSERVE));
	}

	/** Message types of the notifications so far ("C" or "N"). */
	types(): string {
		return this.notes.map((n) => (n.msg.type === CON ? "C" : "N")).join("");
	}

	/** Payloads of the notifications so far, as text. */
	texts(): string[] {
		return this.notes.map((n) => ascii(n.msg.payload));
	}
}

function ascii(b: Uint8Array): string {
	let s = "";
	for (const x of b) s += String.fromCharCode(x);
	return s;
}

/** The observed server, written by hand: at SERVER:5683. */
export class FakeSource {
	readonly w: World;
	readonly peer: RawPeer;
	/** Requests received, decoded, with their time and sender. */
	readonly requests: { time: number; msg: Msg; address: string; port: number }[] = [];
	/** Answers a request (piggybacked); return null to stay silent. Default: 2.05 "r<n>" with Observe. */
	answer: ((q: Msg, n: number) => Uint8Array | null) | null = null;
	/** Where notifications go: the client that registered. */
	clientAddress = "";
	clientPort = 0;
	token = "";
	mid = 0x7000;

	constructor(w: World, host = SERVER) {
		this.w = w;
		this.peer = w.peer(host, COAP);
		this.peer.onReceive = (r, p) => {
			const m = decode(r.bytes);
			if (m.code === 0) return; // ACK/RST of a notification: see peer.received
			this.requests.push({ time: r.time, msg: m, address: r.address, port: r.port });
			if (optUint(m, OPT_OBSERVE) === 0) {
				this.clientAddress = r.address;
				this.clientPort = r.port;
				this.token = m.token;
			}
			const reply = this.answer ? this.answer(m, this.requests.length) : null;
			if (reply !== null) p.send(reply, r.address, r.port);
		};
	}

	/** Sends a notification (NON unless type given) with Observe `seq` to the registered client; returns its MID. */
	notify(seq: number, payload: string | Uint8Array, type = NON, options: readonly (readonly [number, OptValue])[] = [], code = 0x45, token = this.token): number {
		const mid = ++this.mid;
		const opts: [number, OptValue][] = seq >= 0 ? [[OPT_OBSERVE, seq]] : [];
		for (const o of options) opts.push([o[0], o[1]]);
		this.peer.send(encode({ type, code, mid, token, options: opts, payload }), this.clientAddress, this.clientPort);
		return mid;
	}

	/** Empty ACK/RST messages the client sent back for notifications. */
	replies(): Msg[] {
		return this.peer.received.map((r) => decode(r.bytes)).filter((m) => m.code === 0);
	}
}

/** A piggybacked 2.05 answer to `q` with Observe `seq` (omitted when -1). */
export function ackWith(q: Msg, seq: number, payload: string | Uint8Array, options: readonly (readonly [number, OptValue])[] = [], code = 0x45): Uint8Array {
	const opts: [number, OptValue][] = seq >= 0 ? [[OPT_OBSERVE, seq]] : [];
	for (const o of options) opts.push([o[0], o[1]]);
	return encode({ type: ACK, code, mid: q.mid, token: q.token, options: opts, payload });
}
