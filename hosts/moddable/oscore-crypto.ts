/**
 * The Moddable host's OSCORE crypto provider (modules/coap/oscore/aead.ts `OscoreCrypto`): the
 * SDK's native AES block (`crypt` BlockCipher "AES", C in the firmware) under the portable CCM
 * of modules/coap/oscore/ccm-block.ts, and HKDF-SHA-256 (RFC 5869) with HMAC over the native
 * SHA-256 (`crypt` Digest). Protecting or unprotecting a message then runs AES natively and
 * allocates nothing per block (the block is encrypted in one of BlockCcm's own buffers);
 * deriving a context allocates (once per context).
 *
 * Include `$(MODDABLE)/modules/crypt/digest/manifest.json` (it preloads `crypt`). The
 * portable alternative, modules/coap/oscore/noble.ts, needs noble's modules mapped and loaded at
 * run time (they must not be preloaded: module-level scratch state).
 * Leaves out: AES key sizes other than 128 bits (OSCORE's algorithm 10 has 128-bit keys).
 */
import * as crypt from "crypt";
import { AEAD_KEY_LENGTH, type Aead, type OscoreCrypto } from "../../modules/coap/oscore/aead.js";
import { BlockCcm, type BlockEncrypt } from "../../modules/coap/oscore/ccm-block.js";

/**
 * The SDK's BlockCipher (modCrypt.c): whole ArrayBuffers in and out; `encrypt` reads the block
 * before writing the result, so both may be the same buffer. The SDK's typings declare only
 * Digest of the `crypt` module, hence this shape and the cast below.
 */
interface NativeBlockCipher {
	encrypt(data: ArrayBuffer, result: ArrayBuffer): ArrayBuffer;
}
type BlockCipherConstructor = new (cipher: "AES", key: ArrayBuffer) => NativeBlockCipher;
// Read once at load: a preloaded module's functions may only capture constants (xsl warns
// "no const" for the module namespace itself).
const { Digest } = crypt;
const BlockCipher = (crypt as unknown as { BlockCipher: BlockCipherConstructor }).BlockCipher;

/** One AES-128 key in the SDK's native block cipher. */
class NativeAesBlock implements BlockEncrypt {
	readonly stateBytes = 16 + 11 * 16; // key and its schedule, held by the native cipher
	#cipher: NativeBlockCipher | null;

	constructor(key: Uint8Array) {
		if (!(key instanceof Uint8Array) || key.length !== AEAD_KEY_LENGTH) throw new RangeError("AES-128 key must be 16 bytes");
		const k = new ArrayBuffer(AEAD_KEY_LENGTH);
		new Uint8Array(k).set(key);
		this.#cipher = new BlockCipher("AES", k);
		new Uint8Array(k).fill(0);
	}

	encryptBlock(block: Uint8Array): void {
		const c = this.#cipher;
		if (c === null) throw new TypeError("AES key was wiped");
		// BlockCcm's blocks are 16-byte arrays of their own: their buffers are exactly the block.
		c.encrypt(block.buffer as ArrayBuffer, block.buffer as ArrayBuffer);
	}

	wipe(): void {
		this.#cipher = null;
	}
}

type Digest = InstanceType<typeof crypt.Digest>;

const SHA256_BLOCK = 64;
const SHA256_LENGTH = 32;

/** HMAC-SHA-256 (RFC 2104) of the chunks with `key` (at most 64 bytes: HKDF's keys are). */
function hmac(digest: Digest, key: Uint8Array, chunks: readonly Uint8Array[]): Uint8Array {
	const pad = new Uint8Array(SHA256_BLOCK);
	pad.set(key);
	for (let i = 0; i < SHA256_BLOCK; i++) pad[i] ^= 0x36;
	digest.reset();
	digest.write(pad.buffer);
	// Digest.write takes whole ArrayBuffers: each chunk is copied into one (derivation time only).
	for (const c of chunks) if (c.length > 0) digest.write(Uint8Array.from(c).buffer);
	const inner = new Uint8Array(digest.close());
	pad.fill(0);
	pad.set(key);
	for (let i = 0; i < SHA256_BLOCK; i++) pad[i] ^= 0x5c;
	digest.reset();
	digest.write(pad.buffer);
	digest.write(inner.buffer);
	const out = new Uint8Array(digest.close());
	pad.fill(0);
	inner.fill(0);
	return out;
}

/** AES-CCM-16-64-128 on the native AES block; HKDF-SHA-256 on the native SHA-256. */
export const moddableCrypto: OscoreCrypto = Object.freeze({
	aead(key: Uint8Array): Aead {
		return new BlockCcm(new NativeAesBlock(key));
	},
	hkdf(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, infoLength: number, out: Uint8Array, length: number): void {
		if (!(length >= 1 && length <= out.length && length <= 255 * SHA256_LENGTH)) throw new RangeError("HKDF output length " + length + " out of range");
		const digest = new Digest("SHA256");
		// RFC 5869 §2.2: PRK = HMAC(salt, IKM), an empty salt being HashLen zero bytes.
		const prk = hmac(digest, salt.length > 0 ? salt : new Uint8Array(SHA256_LENGTH), [ikm]);
		// §2.3: T(i) = HMAC(PRK, T(i-1) | info | i).
		const counter = new Uint8Array(1);
		let t: Uint8Array = new Uint8Array(0);
		for (let done = 0, i = 1; done < length; i++) {
			counter[0] = i;
			t = hmac(digest, prk, [t, info.subarray(0, infoLength), counter]);
			const n = Math.min(SHA256_LENGTH, length - done);
			out.set(t.subarray(0, n), done);
			done += n;
		}
		prk.fill(0);
		t.fill(0);
	},
});
