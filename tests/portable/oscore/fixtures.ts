// Helpers for the OSCORE tests: contexts from the RFC 8613 Appendix C vectors, client/server
// pairs, plain messages written and parsed, an in-memory Store. Portable (Node and XS).
import { hex } from "../../support/bytes.js";
import type { Store } from "../../../modules/coap/store.js";
import { SecurityContext, type SecurityContextParams } from "../../../modules/coap/oscore/context.js";
import { nobleCrypto } from "../../../modules/coap/oscore/noble.js";
import type { OscoreCrypto } from "../../../modules/coap/oscore/aead.js";
import { Oscore } from "../../../modules/coap/oscore/oscore.js";
import { RequestBinding } from "../../../modules/coap/oscore/binding.js";
import { MessageView } from "../../../modules/coap/wire/view.js";
import { MessageWriter } from "../../../modules/coap/wire/writer.js";
import { RFC8613_VECTORS, type VectorContext } from "./rfc8613-vectors.js";

export { RFC8613_VECTORS };

/** Parameters of an Appendix C context; `swap` gives the other side (server for a client context). */
export function vectorParams(name: string, swap = false, extra: Partial<SecurityContextParams> = {}): SecurityContextParams {
	const v: VectorContext = RFC8613_VECTORS.contexts[name]!;
	return {
		masterSecret: hex(v.master_secret),
		masterSalt: v.master_salt === null ? null : hex(v.master_salt),
		idContext: v.id_context === null ? null : hex(v.id_context),
		senderId: hex(swap ? v.recipient_id : v.sender_id),
		recipientId: hex(swap ? v.sender_id : v.recipient_id),
		...extra,
	};
}

export function vectorContext(name: string, swap = false, extra: Partial<SecurityContextParams> = {}, crypto: OscoreCrypto = nobleCrypto): SecurityContext {
	return new SecurityContext(vectorParams(name, swap, extra), crypto);
}

/** A plain message parsed from hex, in a buffer of its own. */
export function viewOf(text: string, maxOptions = 32): MessageView {
	const v = new MessageView(maxOptions);
	const b = hex(text);
	const st = v.parse(b, b.length);
	if (st !== 0) throw new Error("fixture message does not parse: " + st);
	return v;
}

/** Parses `bytes[0, length)` (a copy) and fails loudly when it does not parse. */
export function parse(bytes: Uint8Array, length: number, maxOptions = 32): MessageView {
	const v = new MessageView(maxOptions);
	const copy = bytes.slice(0, length);
	const st = v.parse(copy, copy.length);
	if (st !== 0) throw new Error("message does not parse: " + st);
	return v;
}

/** A Store over a Map, with a switch that makes writes fail. */
export class MemoryStore implements Store {
	readonly values = new Map<string, Uint8Array>();
	failWrites = false;
	writes = 0;
	read(key: string, into: Uint8Array): number {
		const v = this.values.get(key);
		if (v === undefined) return 0;
		if (v.length > into.length) throw new RangeError("value too long");
		into.set(v);
		return v.length;
	}
	write(key: string, bytes: Uint8Array, length: number): void {
		if (this.failWrites) throw new Error("store unavailable");
		this.writes++;
		this.values.set(key, bytes.slice(0, length));
	}
	text(key: string): string {
		const v = this.values.get(key);
		return v === undefined ? "" : String.fromCharCode(...v);
	}
}

/** Client and server ends of one security context, each with its Oscore engine and buffers. */
export class Pair {
	readonly client: SecurityContext;
	readonly server: SecurityContext;
	readonly clientOscore = new Oscore({ contexts: 2 });
	readonly serverOscore = new Oscore({ contexts: 2 });
	readonly clientBinding = new RequestBinding();
	readonly serverBinding = new RequestBinding();
	readonly plain = new MessageWriter(new Uint8Array(1200));
	readonly wire = new MessageWriter(new Uint8Array(1200));
	readonly out = new MessageWriter(new Uint8Array(1200));

	/** @param client an existing client context to use (e.g. one that outlives a server reboot) */
	constructor(params: Partial<SecurityContextParams> = {}, serverParams: Partial<SecurityContextParams> = {}, crypto: OscoreCrypto = nobleCrypto, client?: SecurityContext) {
		const base: SecurityContextParams = {
			masterSecret: hex("0102030405060708090a0b0c0d0e0f10"),
			masterSalt: hex("9e7ca92223786340"),
			senderId: hex("01"),
			recipientId: hex("02"),
			...params,
		};
		this.client = client ?? new SecurityContext(base, crypto);
		this.server = new SecurityContext({ ...base, senderId: base.recipientId, recipientId: base.senderId, ...serverParams }, crypto);
		this.serverOscore.contexts.add(this.server);
	}

	/** Protects the plain request written by `build` on the client; returns the wire bytes (a copy) or the status. */
	request(build: (w: MessageWriter) => void): Uint8Array | number {
		build(this.plain);
		const n = this.plain.finish();
		if (n < 0) throw new Error("plain request does not fit");
		const len = this.clientOscore.protectRequest(parse(this.plain.buf, n), this.client, this.wire, this.clientBinding);
		return len < 0 ? len : this.wire.buf.slice(0, len);
	}

	/** Server side: unprotects `wire` (a copy is used). Returns the plain request or the status. */
	receiveRequest(wire: Uint8Array): MessageView | number {
		const v = parse(wire, wire.length);
		const len = this.serverOscore.unprotectRequest(v, this.out, this.serverBinding);
		return len < 0 ? len : parse(this.out.buf, len);
	}

	/** Server side: protects the plain response written by `build`. */
	response(build: (w: MessageWriter) => void, newPiv = false): Uint8Array | number {
		build(this.plain);
		const n = this.plain.finish();
		if (n < 0) throw new Error("plain response does not fit");
		const len = this.serverOscore.protectResponse(parse(this.plain.buf, n), this.serverBinding, this.wire, newPiv);
		return len < 0 ? len : this.wire.buf.slice(0, len);
	}

	/** Client side: unprotects a response. */
	receiveResponse(wire: Uint8Array): MessageView | number {
		const v = parse(wire, wire.length);
		const len = this.clientOscore.unprotectResponse(v, this.clientBinding, this.out);
		return len < 0 ? len : parse(this.out.buf, len);
	}
}

/** Options of a parsed message as [number, hex value] pairs. */
export function options(v: MessageView): [number, string][] {
	const out: [number, string][] = [];
	for (let i = 0; i < v.optionCount; i++) {
		let s = "";
		for (let j = 0; j < v.optLength[i]!; j++) s += (v.bytes[v.optOffset[i]! + j]! < 16 ? "0" : "") + v.bytes[v.optOffset[i]! + j]!.toString(16);
		out.push([v.optNumber[i]!, s]);
	}
	return out;
}
