/**
 * An OSCORE security context (RFC 8613 §3.1): the Common Context (AEAD algorithm, HKDF,
 * Master Secret, Master Salt, ID Context, Common IV), the Sender Context (Sender ID, Sender
 * Key, Sender Sequence Number) and the Recipient Context (Recipient ID, Recipient Key, Replay
 * Window), derived at construction (§3.2.1). Every buffer the context uses is allocated here;
 * processing a message allocates nothing in it.
 *
 * Re-derivation with another ID Context (`rederive`, the building block of Appendix B.2)
 * replaces keys and Common IV in place, restarts the Sender Sequence Number at 0 (new keys,
 * new nonce space) and empties the replay window.
 *
 * Leaves out: algorithms other than AES-CCM-16-64-128 with HKDF-SHA-256 (the mandatory ones,
 * §3.2.1, §5); Group OSCORE contexts.
 */
import { AEAD_KEY_LENGTH, AEAD_NONCE_LENGTH, AES_CCM_16_64_128, type Aead, type OscoreCrypto } from "./aead.js";
import { deriveParameter, infoLength } from "./derive.js";
import { MAX_ID_LENGTH } from "./nonce.js";
import { ReplayWindow } from "./replay.js";
import { SenderSequence, type SequencePersistence } from "./sequence.js";

/** Input parameters of a security context (§3.2). Byte strings are copied. */
export interface SecurityContextParams {
	/** Master Secret (§3.1: variable length, typically 16 bytes or more). */
	readonly masterSecret: Uint8Array;
	/** Master Salt (§3.1: optional, default the empty byte string). */
	readonly masterSalt?: Uint8Array | null;
	/** Sender ID (§3.3: 0..7 bytes with AES-CCM-16-64-128). */
	readonly senderId: Uint8Array;
	/** Recipient ID (0..7 bytes, different from the Sender ID). */
	readonly recipientId: Uint8Array;
	/** ID Context (§3.1, §5.1), or absent/null for none. */
	readonly idContext?: Uint8Array | null;
	/** COSE AEAD algorithm (§3.1 default 10; only 10 is supported). */
	readonly algorithm?: number;
	/** Replay window size in sequence numbers (§3.2.2 default 32; a multiple of 32). */
	readonly replayWindow?: number;
	/** Where the Sender Sequence Number survives reboots (Appendix B.1.1); absent: it does not. */
	readonly sequence?: SequencePersistence | null;
	/** First Sender Sequence Number when nothing is stored (§3.2.2: 0; test vectors use others). */
	readonly senderSequenceNumber?: number;
	/**
	 * Requests carry the ID Context as 'kid context' (§5.1: MAY). Default true when there is an
	 * ID Context, as aiocoap does.
	 */
	readonly sendKidContext?: boolean;
	/**
	 * Room for a longer ID Context in `rederive` (Appendix B.2); default the ID Context's length,
	 * and at least B2_ID_CONTEXT_ROOM with `b2`.
	 */
	readonly maxIdContextLength?: number;
	/**
	 * Appendix B.2: this context may be derived again with a random ID Context. A server then
	 * answers a request whose 'kid' is this context's Recipient ID but whose 'kid context' it
	 * does not know with the B.2 procedure instead of 4.01; a client follows a response that
	 * carries a new 'kid context'. Both ends must agree on it. Default false.
	 */
	readonly b2?: boolean;
	/**
	 * The replay window starts unknown (Appendix B.1.2: recovered with Echo). Default: true when
	 * a sequence number was restored from the store (the context ran before this boot), false
	 * for a context used for the first time.
	 */
	readonly replayWindowUnknown?: boolean;
	/**
	 * A name for the context (e.g. the ":name" label of a credentials file): what a resource
	 * handler sees as `request.oscore.label`. Default "".
	 */
	readonly label?: string;
}

/** Largest ID Context this implementation accepts (§6.1: its length is one byte). */
export const MAX_ID_CONTEXT_LENGTH = 255;
/** Bytes of each random value R1, R2, R3 of Appendix B.2 ("typically, at least 8 bytes long"). */
export const B2_NONCE_LENGTH = 8;
/** ID Context room of a B.2 context: R2 || R3, or R2 || ID1 with an ID1 of up to 3 nonces. */
export const B2_ID_CONTEXT_ROOM = 4 * B2_NONCE_LENGTH;

export class SecurityContext {
	/** The name given at construction (SecurityContextParams.label), "" by default. */
	readonly label: string;
	/** Sender ID (exactly its length). */
	readonly senderId: Uint8Array;
	/** Recipient ID (exactly its length). */
	readonly recipientId: Uint8Array;
	/** ID Context bytes [0, idContextLength); idContextLength -1 when there is none. */
	readonly idContext: Uint8Array;
	idContextLength: number;
	readonly sendKidContext: boolean;
	/** Appendix B.2 enabled (see SecurityContextParams.b2). */
	readonly b2: boolean;
	/** Common IV (13 bytes). */
	readonly commonIv = new Uint8Array(AEAD_NONCE_LENGTH);
	/** AEAD under the Sender Key. */
	sender: Aead;
	/** AEAD under the Recipient Key. */
	recipient: Aead;
	sequence: SenderSequence;
	readonly replay: ReplayWindow;
	readonly #crypto: OscoreCrypto;
	readonly #masterSecret: Uint8Array;
	readonly #masterSalt: Uint8Array;

	/**
	 * Derives the context (§3.2.1).
	 * @throws TypeError for a missing byte string; RangeError for an ID longer than 7 bytes, equal
	 *   Sender and Recipient IDs, an unsupported algorithm, an ID Context over 255 bytes, a bad
	 *   window size or sequence setting (local misuse: configuration).
	 */
	constructor(params: SecurityContextParams, crypto: OscoreCrypto) {
		if (!params || typeof params !== "object") throw new TypeError("security context parameters must be an object");
		if (!crypto || typeof crypto.aead !== "function" || typeof crypto.hkdf !== "function") throw new TypeError("security context needs an OscoreCrypto provider");
		bytes("masterSecret", params.masterSecret);
		bytes("senderId", params.senderId);
		bytes("recipientId", params.recipientId);
		if (params.masterSalt != null) bytes("masterSalt", params.masterSalt);
		if (params.idContext != null) bytes("idContext", params.idContext);
		const alg = params.algorithm ?? AES_CCM_16_64_128;
		if (alg !== AES_CCM_16_64_128) throw new RangeError("only AEAD algorithm 10 (AES-CCM-16-64-128) is supported, got " + alg);
		// §3.3: the maximum Sender ID length is the nonce length minus 6.
		if (params.senderId.length > MAX_ID_LENGTH) throw new RangeError("senderId must be 0..7 bytes, got " + params.senderId.length);
		if (params.recipientId.length > MAX_ID_LENGTH) throw new RangeError("recipientId must be 0..7 bytes, got " + params.recipientId.length);
		if (sameBytes(params.senderId, params.recipientId)) throw new RangeError("senderId and recipientId must differ (RFC 8613 §3.3)");
		const idc = params.idContext ?? null;
		const b2 = params.b2 ?? false;
		const cap = params.maxIdContextLength ?? Math.max(idc === null ? 0 : idc.length, b2 ? B2_ID_CONTEXT_ROOM : 0);
		if (!(Number.isInteger(cap) && cap >= 0 && cap <= MAX_ID_CONTEXT_LENGTH)) throw new RangeError("maxIdContextLength must be 0..255, got " + cap);
		if (idc !== null && idc.length > cap) throw new RangeError("idContext is " + idc.length + " bytes, longer than maxIdContextLength " + cap);
		if (params.label !== undefined && typeof params.label !== "string") throw new TypeError("security context label must be a string");
		this.label = params.label ?? "";
		this.#crypto = crypto;
		this.#masterSecret = Uint8Array.from(params.masterSecret);
		this.#masterSalt = params.masterSalt == null ? new Uint8Array(0) : Uint8Array.from(params.masterSalt);
		this.senderId = Uint8Array.from(params.senderId);
		this.recipientId = Uint8Array.from(params.recipientId);
		this.idContext = new Uint8Array(cap);
		this.idContextLength = -1;
		if (idc !== null) {
			this.idContext.set(idc);
			this.idContextLength = idc.length;
		}
		// B.2: the ID Context changes, so the server can only find it when it is sent.
		this.sendKidContext = b2 || (params.sendKidContext ?? true);
		this.b2 = b2;
		this.replay = new ReplayWindow(params.replayWindow ?? 32);
		this.sequence = new SenderSequence(params.sequence ?? null, params.senderSequenceNumber ?? 0);
		const keys = this.#derive();
		this.sender = keys.sender;
		this.recipient = keys.recipient;
		// B.1.2: a context that ran before this boot has lost its replay window.
		if (params.replayWindowUnknown ?? this.sequence.restored) this.replay.forget();
	}

	/** §3.2.1: Sender Key, Recipient Key and Common IV from the current ID Context. */
	#derive(): { sender: Aead; recipient: Aead } {
		const idc = this.idContextLength < 0 ? null : this.idContext;
		const info = new Uint8Array(infoLength(MAX_ID_LENGTH, Math.max(0, this.idContextLength)));
		const key = new Uint8Array(AEAD_KEY_LENGTH);
		const c = this.#crypto;
		deriveParameter(c, this.#masterSecret, this.#masterSalt, this.senderId, this.senderId.length, idc, this.idContextLength, "Key", key, AEAD_KEY_LENGTH, info);
		const sender = c.aead(key);
		deriveParameter(c, this.#masterSecret, this.#masterSalt, this.recipientId, this.recipientId.length, idc, this.idContextLength, "Key", key, AEAD_KEY_LENGTH, info);
		const recipient = c.aead(key);
		// §3.2.1: the Common IV uses the empty byte string as id.
		deriveParameter(c, this.#masterSecret, this.#masterSalt, this.senderId, 0, idc, this.idContextLength, "IV", this.commonIv, AEAD_NONCE_LENGTH, info);
		key.fill(0);
		return { sender, recipient };
	}

	/**
	 * Derives this context again with ID Context idContext[0, length) (Appendix B.2): new keys
	 * and Common IV, Sender Sequence Number 0 (not persisted: the point of B.2 is fresh keys
	 * instead of stored state), an empty replay window. Allocates (runs per re-keying, not per
	 * message). @throws RangeError when the ID Context exceeds maxIdContextLength.
	 */
	rederive(idContext: Uint8Array, length = idContext.length): void {
		if (!(length >= 0 && length <= this.idContext.length && length <= idContext.length)) throw new RangeError("new ID Context of " + length + " bytes does not fit maxIdContextLength " + this.idContext.length);
		this.adopt(this.withIdContext(idContext, 0, length));
	}

	/**
	 * A new context with the same Master Secret, Salt and IDs and ID Context
	 * idContext[offset, offset + length) (Appendix B.2 steps 2-4: the contexts tried with a
	 * peer's random values). Not persistent, no B.2 of its own, an empty replay window.
	 * Allocates (runs per B.2 step, not per message).
	 */
	withIdContext(idContext: Uint8Array, offset: number, length: number): SecurityContext {
		return new SecurityContext({
			masterSecret: this.#masterSecret,
			masterSalt: this.#masterSalt,
			senderId: this.senderId,
			recipientId: this.recipientId,
			idContext: idContext.subarray(offset, offset + length),
			maxIdContextLength: Math.max(length, B2_ID_CONTEXT_ROOM),
			label: this.label,
		}, this.#crypto);
	}

	/**
	 * Takes over the keys, Common IV and ID Context of `other` (a context from withIdContext
	 * that just verified a message, Appendix B.2 steps 4 and 5), so that this object, which the
	 * endpoint's tables refer to, becomes the new context: Sender Sequence Number 0 (not
	 * persisted), an empty replay window. `other` must not be used afterwards.
	 * @throws RangeError when other's ID Context exceeds maxIdContextLength.
	 */
	adopt(other: SecurityContext): void {
		if (other.idContextLength > this.idContext.length) throw new RangeError("ID Context of " + other.idContextLength + " bytes does not fit maxIdContextLength " + this.idContext.length);
		this.idContext.set(other.idContext.subarray(0, other.idContextLength));
		this.idContextLength = other.idContextLength;
		this.commonIv.set(other.commonIv);
		this.sender.wipe();
		this.recipient.wipe();
		this.sender = other.sender;
		this.recipient = other.recipient;
		this.sequence = new SenderSequence(null, 0);
		this.replay.reset();
	}

	/**
	 * True when a request's 'kid' (bytes[kidOffset, +kidLength)) is this context's Recipient ID
	 * and its 'kid context' (bytes[ctxOffset, +ctxLength), ctxLength -1 when absent) is this
	 * context's ID Context; an absent 'kid context' matches any (§5.1: the ID Context may be
	 * known without being sent).
	 */
	matches(bytes: Uint8Array, kidOffset: number, kidLength: number, ctxOffset: number, ctxLength: number): boolean {
		const r = this.recipientId;
		if (kidLength !== r.length) return false;
		for (let i = 0; i < kidLength; i++) if (bytes[kidOffset + i] !== r[i]) return false;
		if (ctxLength < 0) return true;
		if (ctxLength !== this.idContextLength) return false;
		const c = this.idContext;
		for (let i = 0; i < ctxLength; i++) if (bytes[ctxOffset + i] !== c[i]) return false;
		return true;
	}

	/** True when idContext[0, length) equals this context's ID Context (-1: none). */
	hasIdContext(bytes: Uint8Array, offset: number, length: number): boolean {
		if (length !== this.idContextLength) return false;
		for (let i = 0; i < length; i++) if (bytes[offset + i] !== this.idContext[i]) return false;
		return true;
	}

	/** Bytes this context holds: IDs, ID Context room, Common IV, both AEAD states, sequence and replay state, master secret and salt. */
	get stateBytes(): number {
		return this.senderId.length + this.recipientId.length + this.idContext.length + this.commonIv.length +
			this.sender.stateBytes + this.recipient.stateBytes + this.replay.stateBytes + SEQUENCE_STATE_BYTES +
			this.#masterSecret.length + this.#masterSalt.length + CONTEXT_FIELDS_BYTES;
	}

	/** Overwrites keys and secrets; the context must not be used afterwards. */
	wipe(): void {
		this.sender.wipe();
		this.recipient.wipe();
		this.#masterSecret.fill(0);
		this.#masterSalt.fill(0);
		this.commonIv.fill(0);
	}
}

/** SenderSequence: next, stored, K, F and a 16-byte I/O buffer. */
export const SEQUENCE_STATE_BYTES = 4 * 8 + 16;
/** Scalar fields of a SecurityContext (lengths, flags, references), 8 bytes each. */
export const CONTEXT_FIELDS_BYTES = 12 * 8;

function bytes(name: string, v: unknown): void {
	if (!(v instanceof Uint8Array)) throw new TypeError("security context " + name + " must be a Uint8Array, got " + (v === null ? "null" : typeof v));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
	if (a.length !== b.length) return false;
	for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
	return true;
}
