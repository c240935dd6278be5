/**
 * OSCORE message processing (RFC 8613 §8): protect a plain CoAP message into an OSCORE
 * message, unprotect an OSCORE message into a plain one, for both requests and responses.
 * One Oscore object per endpoint holds the security contexts and the per-message working
 * storage (nonce, AAD, the parsed OSCORE option, an option cursor); nothing is allocated per
 * message.
 *
 * Buffers:
 * - protect reads a parsed plain message (a MessageView over the endpoint's buffer) and writes
 *   the OSCORE message with the caller's MessageWriter into a different buffer (a tx or slot
 *   buffer): header, Outer options with the OSCORE option, 0xff, then the plaintext (§5.3:
 *   Code, Inner options, payload), which is sealed in place there, tag appended.
 * - unprotect decrypts the ciphertext in place in the received datagram (the view's bytes:
 *   they are overwritten, and zeroed when verification fails) and writes the plain message
 *   with the caller's MessageWriter into another buffer, where MessageView parses it like any
 *   received message: header, Token and Message ID from the OSCORE message, Code, Inner and
 *   kept Outer options and payload from the plaintext (§8.2 step 7, §8.4 step 6).
 *
 * Processing follows §8.1-§8.4 with Observe (§4.1.3.5, §8.3.1, §8.4.2, §7.4.1), the outer
 * Code rules (§4.2, §4.1.3.5), option classes (§4.1, classes.ts) and the replay window (§7.4).
 *
 * Leaves out, each refused with a status: Outer Block options (§4.1.3.4.2: reassembly before
 * OSCORE belongs to the endpoint; E_OSCORE_OUTER_BLOCK), Proxy-Uri in a message to protect
 * (§4.1.3.3 decomposition; E_OSCORE_PROXY_URI), nested OSCORE (§4.1.3.7). Class I options
 * (none are defined), signaling messages (§4.3, CoAP over TCP), Group OSCORE.
 */
import { CODE_CHANGED, CODE_CONTENT, CODE_FETCH, CODE_POST, isRequest, isResponse } from "../constants.js";
import { OPT_BLOCK1, OPT_BLOCK2, OPT_MAX_AGE, OPT_OBSERVE, OPT_OSCORE, OPT_PROXY_URI } from "../options.js";
import { readUint } from "../wire/uint.js";
import type { RandomFill } from "../host.js";
import type { MessageView } from "../wire/view.js";
import type { MessageWriter } from "../wire/writer.js";
import { AEAD_NONCE_LENGTH, AEAD_TAG_LENGTH, type Aead } from "./aead.js";
import { aadLength, writeAad } from "./aad.js";
import type { RequestBinding } from "./binding.js";
import { CLASS_E, CLASS_U, keptOuter, optionClass } from "./classes.js";
import { B2_NONCE_LENGTH, MAX_ID_CONTEXT_LENGTH, type SecurityContext } from "./context.js";
import { ContextTable } from "./contexts.js";
import { OptionCursor } from "./inner.js";
import { MAX_ID_LENGTH, pivLength, writeNonce } from "./nonce.js";
import { OscoreOptionValue, optionValueLength, writeOptionValue } from "./option.js";
import { REPLAY_UNKNOWN } from "./replay.js";
import {
	E_OSCORE_DECOMPRESS, E_OSCORE_DECRYPT, E_OSCORE_NESTED, E_OSCORE_NO_BINDING, E_OSCORE_NO_CONTEXT, E_OSCORE_NOT_PROTECTED,
	E_OSCORE_OUTER_BLOCK, E_OSCORE_OVERFLOW, E_OSCORE_PROXY_URI, E_OSCORE_STALE_NOTIFICATION, E_OSCORE_B2_RETRY,
} from "./status.js";

/** Configuration of an Oscore object. */
export interface OscoreLimits {
	/** Security contexts the endpoint can hold (its server contexts and client contexts). */
	readonly contexts: number;
	/** Random bytes (a CSPRNG): needed for Appendix B.2 (contexts with `b2`); absent, B.2 is off. */
	readonly random?: RandomFill;
	/** Appendix B.2 runs a server keeps open at once (R2 values waiting for request #2; default 2). */
	readonly b2Pending?: number;
}

/** Bytes of working storage one Oscore object holds besides its context table (see workingBytes). */
// preload-safe: a number
export const OSCORE_WORKING_BYTES = AEAD_NONCE_LENGTH + aadLength(MAX_ID_LENGTH) + 8 * 8 /* parsed option */ + 8 * 8 /* cursor */;

export class Oscore {
	/** The security contexts that incoming requests are matched against (§8.2 step 2). */
	readonly contexts: ContextTable;
	readonly #nonce = new Uint8Array(AEAD_NONCE_LENGTH);
	readonly #aad = new Uint8Array(aadLength(MAX_ID_LENGTH));
	#aadLength = 0;
	readonly #option = new OscoreOptionValue();
	readonly #cursor = new OptionCursor();
	/** Observe value written into a rebuilt notification (binding.notifications before the increment). */
	#observeValue = 0;
	// Appendix B.2 (server): the R2 values sent in a response #1, with the context they belong to.
	readonly #random: RandomFill | null;
	readonly #b2Context: (SecurityContext | null)[];
	readonly #b2R2: Uint8Array;
	#b2Next = 0;
	readonly #b2Id: Uint8Array;

	/** @throws RangeError for a bad limit. */
	constructor(limits: OscoreLimits) {
		this.contexts = new ContextTable(limits.contexts);
		this.#random = limits.random ?? null;
		const pending = this.#random === null ? 0 : limits.b2Pending ?? 2;
		if (!(Number.isInteger(pending) && pending >= 0 && pending <= 64)) throw new RangeError("b2Pending must be 0..64, got " + pending);
		this.#b2Context = [];
		for (let i = 0; i < pending; i++) this.#b2Context.push(null);
		this.#b2R2 = new Uint8Array(pending * B2_NONCE_LENGTH);
		this.#b2Id = new Uint8Array(this.#random === null ? 0 : MAX_ID_CONTEXT_LENGTH);
	}

	/** Bytes of per-message working storage (nonce, AAD, option and cursor state). */
	get workingBytes(): number {
		return OSCORE_WORKING_BYTES;
	}

	// ---- protect (§8.1, §8.3)

	/**
	 * §8.1: protects the plain request `plain` with `ctx` into `out` (a writer over another
	 * buffer; it is restarted at offset 0). Takes a new Sender Sequence Number as Partial IV and
	 * fills `binding` for the response(s). Returns the OSCORE message length, or a negative
	 * status: E_OSCORE_NESTED, E_OSCORE_PROXY_URI, E_OSCORE_SEQUENCE_EXHAUSTED,
	 * E_OSCORE_SEQUENCE_STORE, E_OSCORE_OVERFLOW.
	 */
	protectRequest(plain: MessageView, ctx: SecurityContext, out: MessageWriter, binding: RequestBinding): number {
		const bad = checkPlain(plain);
		if (bad < 0) return bad;
		// §8.1 step 3: the Partial IV is the Sender Sequence Number, which is then incremented.
		const seq = ctx.sequence.next();
		if (seq < 0) return seq;
		const pl = pivLength(seq);
		const kid = ctx.senderId;
		writeNonce(this.#nonce, ctx.commonIv, kid, kid.length, seq);
		this.#aadLength = writeAad(this.#aad, kid, kid.length, seq, pl);
		// §5: 'kid' SHALL be present in requests; 'kid context' MAY (§5.1).
		const sendCtx = ctx.sendKidContext && ctx.idContextLength >= 0;
		const n = this.#write(plain, out, true, ctx.sender, seq, pl, sendCtx ? ctx.idContext : null, sendCtx ? ctx.idContextLength : -1, kid, kid.length);
		binding.clear();
		if (n < 0) return n;
		binding.context = ctx;
		binding.piv = seq;
		binding.pivLength = pl;
		binding.local = true;
		// §4.1.3.5.1: a registration carries Observe 0 (Inner and Outer).
		const oi = plain.find(OPT_OBSERVE);
		binding.observe = oi >= 0 && plain.uint(oi) === 0;
		return n;
	}

	/**
	 * §8.3: protects the plain response `plain` to the request of `binding` into `out`. Uses the
	 * request's nonce when it is still available and `newPiv` is false (the first response to a
	 * request, §5.2); otherwise a new Partial IV from the Sender Sequence Number (every later
	 * notification, §8.3.1; a response to a request of unknown freshness, B.1.2). A plain
	 * Observe option makes the response a notification (Inner Observe empty, Outer Observe the
	 * plain value, Outer Code 2.05, Outer Max-Age 0).
	 * @param kidContext optional 'kid context' for the response (Appendix B.2 response #1):
	 *   kidContext[0, kidContextLength)
	 * Returns the length, or E_OSCORE_NO_BINDING, E_OSCORE_NESTED, E_OSCORE_PROXY_URI,
	 * E_OSCORE_SEQUENCE_*, E_OSCORE_OVERFLOW.
	 */
	protectResponse(plain: MessageView, binding: RequestBinding, out: MessageWriter, newPiv = false, kidContext: Uint8Array | null = null, kidContextLength = -1): number {
		const ctx = binding.context;
		if (ctx === null) return E_OSCORE_NO_BINDING;
		const bad = checkPlain(plain);
		if (bad < 0) return bad;
		const rkid = binding.local ? ctx.senderId : ctx.recipientId; // the request's 'kid'
		this.#aadLength = writeAad(this.#aad, rkid, rkid.length, binding.piv, binding.pivLength);
		let seq = 0;
		let pl = 0;
		if (!newPiv && binding.nonceAvailable) {
			// §8.3 step 3: the AEAD nonce from the request; its Partial IV is not sent (step 4).
			writeNonce(this.#nonce, ctx.commonIv, rkid, rkid.length, binding.piv);
			binding.nonceAvailable = false;
		} else {
			seq = ctx.sequence.next();
			if (seq < 0) return seq;
			pl = pivLength(seq);
			writeNonce(this.#nonce, ctx.commonIv, ctx.senderId, ctx.senderId.length, seq);
		}
		if (binding.renewal >= 0 && kidContext === null) {
			// Appendix B.2 step 2: response #1 carries R2 as 'kid context'.
			kidContext = this.#b2R2.subarray(binding.renewal * B2_NONCE_LENGTH, (binding.renewal + 1) * B2_NONCE_LENGTH);
			kidContextLength = B2_NONCE_LENGTH;
		}
		return this.#write(plain, out, false, ctx.sender, seq, pl, kidContext, kidContext === null ? -1 : kidContextLength, null, -1);
	}

	/** Header, Outer options, OSCORE option, then the plaintext sealed in place. */
	#write(plain: MessageView, w: MessageWriter, request: boolean, aead: Aead, piv: number, pivLen: number, kidContext: Uint8Array | null, kidContextLength: number, kid: Uint8Array | null, kidLength: number): number {
		const observe = plain.find(OPT_OBSERVE) >= 0;
		// §4.2, §4.1.3.5: Outer Code POST / 2.04, or FETCH / 2.05 for messages with Observe.
		const outerCode = request ? (observe ? CODE_FETCH : CODE_POST) : (observe ? CODE_CONTENT : CODE_CHANGED);
		w.header(plain.type, outerCode, plain.mid, plain.bytes, plain.tokenOffset, plain.tokenLength);
		const count = plain.optionCount;
		const nums = plain.optNumber;
		const bytes = plain.bytes;
		const valueLength = optionValueLength(pivLen, kidContextLength, kidLength);
		// §4.1.3.1: an Observe response is cacheable for proxies; Outer Max-Age 0 avoids useless caching.
		let maxAgePending = !request && observe;
		let oscorePending = true;
		for (let i = 0; i <= count; i++) {
			const n = i < count ? nums[i]! : 0x10000;
			if (oscorePending && n > OPT_OSCORE) {
				// §4.1.2: the OSCORE option is an Outer option, delta-encoded among them.
				const at = w.reserveOption(OPT_OSCORE, valueLength);
				if (at >= 0) writeOptionValue(w.buf, at, piv, pivLen, kidContext, kidContextLength, kid, kidLength);
				oscorePending = false;
			}
			if (maxAgePending && n > OPT_MAX_AGE) {
				w.uintOption(OPT_MAX_AGE, 0);
				maxAgePending = false;
			}
			if (i === count) break;
			// §4.1.1-§4.1.2: Class U options go Outer; Observe both Inner and Outer (§4.1.3.5).
			if (optionClass(n) === CLASS_U || n === OPT_OBSERVE) w.option(n, bytes, plain.optOffset[i]!, plain.optLength[i]!);
		}
		let p = w.finish();
		const buf = w.buf;
		if (p < 0 || p + 2 > buf.length) return E_OSCORE_OVERFLOW;
		// §6.2: the payload is the ciphertext; §5.3: plaintext = Code | Class E options | 0xff payload.
		buf[p] = 0xff;
		const start = p + 1;
		buf[start] = plain.code;
		w.startAt(start + 1);
		for (let i = 0; i < count; i++) {
			const n = nums[i]!;
			if ((optionClass(n) & CLASS_E) === 0) continue;
			// §4.1.3.5.2: in a notification the Inner Observe value MUST be empty.
			if (n === OPT_OBSERVE && !request) w.emptyOption(n);
			else w.option(n, bytes, plain.optOffset[i]!, plain.optLength[i]!);
		}
		const pl = plain.payloadLength;
		if (pl > 0) w.payload(bytes, plain.payloadOffset, pl);
		p = w.finish();
		if (p < 0 || p + AEAD_TAG_LENGTH > buf.length) return E_OSCORE_OVERFLOW;
		const end = start + aead.seal(this.#nonce, this.#aad, this.#aadLength, buf, start, p - start);
		w.pos = end;
		return end;
	}

	// ---- unprotect (§8.2, §8.4)

	/**
	 * §8.2: verifies the OSCORE request `msg` against this object's contexts and writes the
	 * decrypted request into `out`. Decrypts in place in msg.bytes. Fills `binding` (context,
	 * 'kid' side, Partial IV, whether the nonce may protect the response, whether it is an
	 * Observe registration, whether its freshness is unknown: B.1.2). Returns the plain
	 * message length, or E_OSCORE_NOT_PROTECTED (no OSCORE option), E_OSCORE_DECOMPRESS (4.02),
	 * E_OSCORE_NO_CONTEXT (4.01), E_OSCORE_REPLAY (4.01), E_OSCORE_DECRYPT (4.00),
	 * E_OSCORE_OUTER_BLOCK, E_OSCORE_OVERFLOW. `msg` must have parsed with status 0.
	 */
	unprotectRequest(msg: MessageView, out: MessageWriter, binding: RequestBinding): number {
		binding.clear();
		const st = this.#outer(msg);
		if (st < 0) return st;
		const o = this.#option;
		// §5: Partial IV and 'kid' SHALL be present in requests; without them the COSE object does not decode.
		if (o.pivLength === 0 || o.kidLength < 0) return E_OSCORE_DECOMPRESS;
		const bytes = msg.bytes;
		const ctx = this.contexts.find(bytes, o.kidOffset, o.kidLength, o.kidContextOffset, o.kidContextLength);
		if (ctx === null) return this.#b2Request(msg, out, binding); // §8.2 step 2, or Appendix B.2
		// §8.2 step 3, §7.4: check the replay window before decrypting, update it only after.
		const replay = ctx.replay.check(o.piv);
		if (replay < 0) return replay;
		const n = this.#openRequest(ctx, msg);
		if (n < 0) return n;
		if (replay === 0) ctx.replay.accept(o.piv);
		return this.#acceptRequest(msg, n, out, binding, ctx, replay === 0, replay === REPLAY_UNKNOWN);
	}

	/** §8.2 steps 4-6 with `ctx`: the plaintext length, or E_OSCORE_DECRYPT. */
	#openRequest(ctx: SecurityContext, msg: MessageView): number {
		const o = this.#option;
		const rid = ctx.recipientId;
		this.#aadLength = writeAad(this.#aad, rid, rid.length, o.piv, o.pivLength); // step 4
		writeNonce(this.#nonce, ctx.commonIv, rid, rid.length, o.piv); // step 5
		const n = ctx.recipient.open(this.#nonce, this.#aad, this.#aadLength, msg.bytes, msg.payloadOffset, msg.payloadLength); // step 6
		return n < 0 ? E_OSCORE_DECRYPT : n;
	}

	/** Fills the binding and writes the decrypted request (§8.2 step 7). */
	#acceptRequest(msg: MessageView, n: number, out: MessageWriter, binding: RequestBinding, ctx: SecurityContext, nonceAvailable: boolean, freshnessUnknown: boolean): number {
		const o = this.#option;
		binding.context = ctx;
		binding.piv = o.piv;
		binding.pivLength = o.pivLength;
		binding.local = false;
		binding.nonceAvailable = nonceAvailable;
		binding.freshnessUnknown = freshnessUnknown;
		const len = this.#compose(msg, msg.payloadOffset, n, out, true, binding);
		if (len < 0) {
			msg.bytes.fill(0, msg.payloadOffset, msg.payloadOffset + n);
			binding.clear();
		}
		return len;
	}

	/**
	 * Appendix B.2 on the server: no context has this 'kid context', but a B.2 context has the
	 * 'kid'. A 'kid context' that starts with an R2 this server sent is a request #2 (step 4):
	 * verified with ID Context = that value, the context takes it over. Any other is a request
	 * #1 (step 2): verified with ID1 = the 'kid context', answered (by the endpoint, through
	 * protectResponse) with 4.01 under ID2 = R2 || ID1. Nothing changes when verification fails.
	 */
	#b2Request(msg: MessageView, out: MessageWriter, binding: RequestBinding): number {
		const o = this.#option;
		const bytes = msg.bytes;
		if (this.#random === null || o.kidContextLength < 0) return E_OSCORE_NO_CONTEXT;
		const base = this.#b2Base(bytes, o.kidOffset, o.kidLength);
		if (base === null) return E_OSCORE_NO_CONTEXT;
		const idLen = o.kidContextLength;
		const slot = this.#b2Find(base, bytes, o.kidContextOffset, idLen);
		// ID3 must fit the context that takes it over; ID2 = R2 || ID1 must fit one byte of length.
		if (slot >= 0 ? idLen > base.idContext.length : B2_NONCE_LENGTH + idLen > MAX_ID_CONTEXT_LENGTH) return E_OSCORE_NO_CONTEXT;
		const trial = base.withIdContext(bytes, o.kidContextOffset, idLen);
		const n = this.#openRequest(trial, msg);
		if (n < 0) return n;
		if (slot >= 0) {
			// Step 4: request #2 verified; this context is now the one with ID3 (step 4: replaces the previous).
			this.#b2Forget(base);
			base.adopt(trial);
			base.replay.accept(o.piv);
			return this.#acceptRequest(msg, n, out, binding, base, true, false);
		}
		// Step 2: request #1 verified with ID1; a fresh R2 and the context ID2 = R2 || ID1 for response #1.
		const r = this.#b2Next;
		this.#b2Next = (r + 1) % this.#b2Context.length;
		const r2 = this.#b2R2.subarray(r * B2_NONCE_LENGTH, (r + 1) * B2_NONCE_LENGTH);
		this.#random(r2);
		this.#b2Context[r] = base;
		const id2 = this.#b2Id;
		id2.set(r2);
		for (let i = 0; i < idLen; i++) id2[B2_NONCE_LENGTH + i] = bytes[o.kidContextOffset + i]!;
		const second = base.withIdContext(id2, 0, B2_NONCE_LENGTH + idLen);
		const len = this.#acceptRequest(msg, n, out, binding, second, true, false);
		if (len >= 0) binding.renewal = r;
		return len;
	}

	/** The first B.2 context whose Recipient ID is the kid. */
	#b2Base(bytes: Uint8Array, kidOffset: number, kidLength: number): SecurityContext | null {
		for (let i = 0; i < this.contexts.capacity; i++) {
			const c = this.contexts.at(i);
			if (c !== null && c.b2 && c.matches(bytes, kidOffset, kidLength, 0, -1)) return c;
		}
		return null;
	}

	/** The pending R2 of `ctx` that starts bytes[offset, offset + length) (a request #2), or -1. */
	#b2Find(ctx: SecurityContext, bytes: Uint8Array, offset: number, length: number): number {
		if (length < B2_NONCE_LENGTH) return -1;
		const r2 = this.#b2R2;
		for (let s = 0; s < this.#b2Context.length; s++) {
			if (this.#b2Context[s] !== ctx) continue;
			let same = true;
			for (let i = 0; i < B2_NONCE_LENGTH; i++) if (r2[s * B2_NONCE_LENGTH + i] !== bytes[offset + i]) same = false;
			if (same) return s;
		}
		return -1;
	}

	/** Step 4: "removes all instances of R2 associated to this security context". */
	#b2Forget(ctx: SecurityContext): void {
		for (let s = 0; s < this.#b2Context.length; s++) {
			if (this.#b2Context[s] !== ctx) continue;
			this.#b2Context[s] = null;
			this.#b2R2.fill(0, s * B2_NONCE_LENGTH, (s + 1) * B2_NONCE_LENGTH);
		}
	}

	/**
	 * Appendix B.1.2: the request of `binding` (verified with freshnessUnknown) was shown fresh
	 * by an Echo option: its Partial IV becomes the lower limit of the replay window, and its
	 * nonce may protect the response.
	 */
	acceptFresh(binding: RequestBinding): void {
		const ctx = binding.context;
		if (ctx === null || !binding.freshnessUnknown) return;
		ctx.replay.initializeFrom(binding.piv);
		binding.freshnessUnknown = false;
		binding.nonceAvailable = true;
	}

	/**
	 * §8.4: verifies the OSCORE response `msg` to the request of `binding` (a client binding
	 * filled by protectRequest) and writes the decrypted response into `out`. Decrypts in
	 * place in msg.bytes. Notifications (§8.4.2, §7.4.1) must carry a Partial IV greater than
	 * every one accepted before on this binding (one without Partial IV only first); their
	 * rebuilt Observe value counts the accepted notifications. Returns the plain message
	 * length, or E_OSCORE_NO_BINDING, E_OSCORE_NOT_PROTECTED (a plain response: not to be
	 * processed as the response, §8.4), E_OSCORE_DECOMPRESS, E_OSCORE_DECRYPT,
	 * E_OSCORE_STALE_NOTIFICATION, E_OSCORE_OUTER_BLOCK, E_OSCORE_OVERFLOW. Any failure after
	 * decryption zeroes the plaintext.
	 */
	unprotectResponse(msg: MessageView, binding: RequestBinding, out: MessageWriter): number {
		const ctx = binding.context;
		if (ctx === null) return E_OSCORE_NO_BINDING;
		const st = this.#outer(msg);
		if (st < 0) return st;
		const o = this.#option;
		const bytes = msg.bytes;
		// §5: a 'kid' in a response names its sender; a 'kid context' must be this context's.
		if (o.kidLength >= 0 && !sameBytes(bytes, o.kidOffset, o.kidLength, ctx.recipientId)) return E_OSCORE_DECRYPT;
		if (o.kidContextLength >= 0 && !ctx.hasIdContext(bytes, o.kidContextOffset, o.kidContextLength)) return this.#b2Response(msg, binding);
		const rkid = binding.local ? ctx.senderId : ctx.recipientId;
		this.#aadLength = writeAad(this.#aad, rkid, rkid.length, binding.piv, binding.pivLength); // step 3
		// §8.4 step 4: the request's nonce without a Partial IV, else one from the server's.
		if (o.pivLength === 0) writeNonce(this.#nonce, ctx.commonIv, rkid, rkid.length, binding.piv);
		else writeNonce(this.#nonce, ctx.commonIv, ctx.recipientId, ctx.recipientId.length, o.piv);
		const start = msg.payloadOffset;
		const n = ctx.recipient.open(this.#nonce, this.#aad, this.#aadLength, bytes, start, msg.payloadLength); // step 5
		if (n < 0) return E_OSCORE_DECRYPT;
		const len = this.#acceptResponse(msg, binding, o.pivLength > 0, o.piv, start, n, out);
		if (len < 0) bytes.fill(0, start, start + n);
		return len;
	}

	/**
	 * Appendix B.2 step 3 on the client: a response with 'kid context' R2 to a request made with
	 * ID Context ID1 verifies under ID2 = R2 || ID1; then the context is derived again with
	 * ID3 = R2 || R3 (R3 random) and the request must be sent again: E_OSCORE_B2_RETRY. The
	 * response itself (a 4.01) is not delivered. Anything else: E_OSCORE_DECRYPT.
	 */
	#b2Response(msg: MessageView, binding: RequestBinding): number {
		const ctx = binding.context!;
		const o = this.#option;
		const bytes = msg.bytes;
		const random = this.#random;
		if (!ctx.b2 || random === null || !binding.local || o.kidContextLength !== B2_NONCE_LENGTH || ctx.idContextLength < 0) return E_OSCORE_DECRYPT;
		const id = this.#b2Id;
		const n1 = ctx.idContextLength;
		if (B2_NONCE_LENGTH + n1 > MAX_ID_CONTEXT_LENGTH) return E_OSCORE_DECRYPT;
		for (let i = 0; i < B2_NONCE_LENGTH; i++) id[i] = bytes[o.kidContextOffset + i]!;
		id.set(ctx.idContext.subarray(0, n1), B2_NONCE_LENGTH);
		const second = ctx.withIdContext(id, 0, B2_NONCE_LENGTH + n1);
		const rkid = ctx.senderId;
		this.#aadLength = writeAad(this.#aad, rkid, rkid.length, binding.piv, binding.pivLength);
		if (o.pivLength === 0) writeNonce(this.#nonce, second.commonIv, rkid, rkid.length, binding.piv);
		else writeNonce(this.#nonce, second.commonIv, second.recipientId, second.recipientId.length, o.piv);
		const n = second.recipient.open(this.#nonce, this.#aad, this.#aadLength, bytes, msg.payloadOffset, msg.payloadLength);
		if (n < 0) return E_OSCORE_DECRYPT;
		bytes.fill(0, msg.payloadOffset, msg.payloadOffset + n); // the 4.01 is not for the application
		// ID3 = R2 || R3.
		random(id.subarray(B2_NONCE_LENGTH, 2 * B2_NONCE_LENGTH));
		ctx.rederive(id, 2 * B2_NONCE_LENGTH);
		return E_OSCORE_B2_RETRY;
	}

	/** §8.4.2 notification rules, then the rebuilt response. */
	#acceptResponse(msg: MessageView, binding: RequestBinding, hasPiv: boolean, piv: number, start: number, n: number, out: MessageWriter): number {
		const innerObserve = this.#innerHas(msg.bytes, start, n, OPT_OBSERVE);
		if (innerObserve < 0) return E_OSCORE_DECOMPRESS;
		if (innerObserve === 1) {
			// §4.1.3.5.2: Inner Observe in a response to a request that was no registration: stop.
			if (!binding.observe) return E_OSCORE_STALE_NOTIFICATION;
			if (hasPiv) {
				// §7.4.1: only notifications newer than the Notification Number.
				if (piv <= binding.notificationNumber) return E_OSCORE_STALE_NOTIFICATION;
			} else if (binding.requestNonceUsed || binding.notificationNumber >= 0) {
				// §8.4.2: at most one without Partial IV, and it is the oldest.
				return E_OSCORE_STALE_NOTIFICATION;
			}
		} else if (!hasPiv && binding.observe && binding.requestNonceUsed) {
			// §4.1.3.5: only the first response to a registration may omit the Partial IV.
			return E_OSCORE_STALE_NOTIFICATION;
		}
		this.#observeValue = binding.notifications & 0xffffff;
		const len = this.#compose(msg, start, n, out, false, binding);
		if (len < 0) return len;
		if (!hasPiv) binding.requestNonceUsed = true;
		if (innerObserve === 1) {
			if (hasPiv) binding.notificationNumber = piv;
			binding.notifications++;
		}
		return len;
	}

	/** Finds and parses the OSCORE option; refuses an empty payload (§2) and Outer Block options. */
	#outer(msg: MessageView): number {
		let index = -1;
		const count = msg.optionCount;
		for (let i = 0; i < count; i++) {
			const num = msg.optNumber[i]!;
			if (num === OPT_OSCORE) {
				// §2: not repeatable, 0..255 bytes; anything else does not decode.
				if (index >= 0 || msg.optFlags[i] !== 0) return E_OSCORE_DECOMPRESS;
				index = i;
			} else if (num === OPT_BLOCK1 || num === OPT_BLOCK2) {
				// §8.2.1, §8.4.1: Outer Block options are processed (reassembled) before OSCORE. Options
				// are sorted, so the OSCORE option (9) was seen already if there is one.
				return index >= 0 ? E_OSCORE_OUTER_BLOCK : E_OSCORE_NOT_PROTECTED;
			}
		}
		if (index < 0) return E_OSCORE_NOT_PROTECTED;
		const st = this.#option.parse(msg.bytes, msg.optOffset[index]!, msg.optLength[index]!);
		if (st < 0) return st;
		// §2: an OSCORE option and no payload: malformed.
		if (msg.payloadLength === 0) return E_OSCORE_DECOMPRESS;
		return 0;
	}

	/** 1 when the plaintext bytes[start, start + n) has option `number`, 0 when not, -1 when malformed. */
	#innerHas(bytes: Uint8Array, start: number, n: number, number: number): number {
		if (n < 1) return -1;
		const c = this.#cursor.reset(bytes, start + 1, start + n);
		for (;;) {
			const r = c.next();
			if (r < 0) return -1;
			if (r === 0) return 0;
			if (c.number === number) return 1;
		}
	}

	/**
	 * Writes the decrypted message: the header of `msg` with the Code of the plaintext
	 * bytes[start, start + n), the kept Outer options and the Inner options merged in order,
	 * then the payload (§8.2 step 7, §8.4 step 6).
	 */
	#compose(msg: MessageView, start: number, n: number, w: MessageWriter, request: boolean, binding: RequestBinding): number {
		const bytes = msg.bytes;
		if (n < 1) return E_OSCORE_DECOMPRESS;
		const code = bytes[start]!;
		if (request ? !isRequest(code) : !isResponse(code)) return E_OSCORE_DECOMPRESS;
		w.header(msg.type, code, msg.mid, bytes, msg.tokenOffset, msg.tokenLength);
		// §4.1.3.5.1: a registration (or cancellation) only when Inner and Outer Observe agree.
		const oi = request ? msg.find(OPT_OBSERVE) : -1;
		const outerObserve = oi >= 0 ? msg.uint(oi) : -1;
		const c = this.#cursor.reset(bytes, start + 1, start + n);
		let r = c.next();
		let i = 0;
		const count = msg.optionCount;
		for (;;) {
			while (i < count && !keptOuter(msg.optNumber[i]!)) i++;
			if (r < 0) return E_OSCORE_DECOMPRESS;
			const on = i < count ? msg.optNumber[i]! : 0x10000;
			const inn = r === 1 ? c.number : 0x10000;
			if (on === 0x10000 && inn === 0x10000) break;
			if (on <= inn) {
				w.option(on, bytes, msg.optOffset[i]!, msg.optLength[i]!);
				i++;
				continue;
			}
			// §4.1.3.7: an OSCORE option inside the plaintext is nested OSCORE: stop.
			if (inn === OPT_OSCORE) return E_OSCORE_DECOMPRESS;
			if (inn === OPT_OBSERVE) {
				if (request) {
					const v = readUint(bytes, c.offset, c.length);
					if (v === outerObserve) {
						w.option(inn, bytes, c.offset, c.length);
						binding.observe = v === 0;
					}
				} else {
					// §4.1.3.5.2: the client orders by Partial IV and may choose the Observe value.
					w.uintOption(inn, this.#observeValue);
				}
			} else w.option(inn, bytes, c.offset, c.length);
			r = c.next();
		}
		if (c.payloadOffset >= 0) w.payload(bytes, c.payloadOffset, start + n - c.payloadOffset);
		const len = w.finish();
		return len < 0 ? E_OSCORE_OVERFLOW : len;
	}
}

/**
 * Moves a plain message that unprotect wrote into a scratch buffer back over the bytes of the
 * OSCORE message it came from, and parses `msg` again over them: the endpoint then keeps the
 * datagram as it keeps any other (an async handler may hold it), and the scratch is free for
 * the next message. The plain message always fits: it lacks the OSCORE option, the payload
 * marker of the ciphertext, the Code byte and the 8-byte tag (11 bytes at least), and gains at
 * most 6 (one delta extension byte for each of the Outer options 16, 35 and 39 when the
 * options that separated them are gone, and up to 3 for a rebuilt Observe value).
 * Returns MessageView.parse's status, or E_OSCORE_OVERFLOW (if `length` exceeded the bytes).
 */
export function restorePlain(msg: MessageView, plain: Uint8Array, length: number): number {
	const bytes = msg.bytes;
	if (length > bytes.length || length > msg.length) return E_OSCORE_OVERFLOW;
	bytes.set(length === plain.length ? plain : plain.subarray(0, length));
	return msg.parse(bytes, length);
}

/** §4.1.3.7, §4.1.3.3: what protect refuses in a plain message. */
function checkPlain(plain: MessageView): number {
	for (let i = 0; i < plain.optionCount; i++) {
		const n = plain.optNumber[i]!;
		if (n === OPT_OSCORE) return E_OSCORE_NESTED;
		if (n === OPT_PROXY_URI) return E_OSCORE_PROXY_URI;
	}
	return 0;
}

function sameBytes(b: Uint8Array, offset: number, length: number, id: Uint8Array): boolean {
	if (length !== id.length) return false;
	for (let i = 0; i < length; i++) if (b[offset + i] !== id[i]) return false;
	return true;
}
