/**
 * The AEAD and key-derivation port of OSCORE (RFC 8613 §3.2.1, §5): what a security context
 * needs from cryptography, small enough that a host can supply a native implementation
 * (Node's `aes-128-ccm`, a Moddable `crypt` block cipher) next to the portable one
 * (ccm.ts over `@noble/ciphers`, noble.ts).
 *
 * An Aead is made once per key (a context's Sender Key and Recipient Key) and may keep a key
 * schedule; seal and open work in place in the caller's buffer and allocate nothing of their
 * own. Only the mandatory algorithm is defined: AES-CCM-16-64-128, COSE algorithm 10
 * (RFC 8152 §10.2): 128-bit key, 13-byte nonce, 8-byte tag.
 * Leaves out: other COSE AEAD algorithms (AES-CCM-16-128-128, A128GCM, ChaCha20/Poly1305).
 */

/** COSE algorithm identifier of AES-CCM-16-64-128 (RFC 8152 §10.2), OSCORE's default and mandatory AEAD. */
export const AES_CCM_16_64_128 = 10;
/** Key length of AES-CCM-16-64-128, bytes. */
export const AEAD_KEY_LENGTH = 16;
/** Nonce length of AES-CCM-16-64-128 (L = 2: 15 - 2), bytes; also the Common IV length (RFC 8613 §5). */
export const AEAD_NONCE_LENGTH = 13;
/** Tag length of AES-CCM-16-64-128 (M = 8), bytes. */
export const AEAD_TAG_LENGTH = 8;
/** Largest plaintext with L = 2 (RFC 3610 §2: l(m) < 2^(8L)). */
export const AEAD_MAX_PLAINTEXT = 0xffff;

/** One AEAD key. Both calls run synchronously and keep nothing of the buffers they are given. */
export interface Aead {
	/**
	 * Encrypts buf[offset, offset + length) in place and writes the tag right after it, at
	 * buf[offset + length, offset + length + 8). Returns length + 8.
	 * @param nonce 13 bytes (read only)
	 * @param aad aad[0, aadLength) (read only)
	 * @throws RangeError when the buffer has no room for the tag or length exceeds 65535 (local misuse)
	 */
	seal(nonce: Uint8Array, aad: Uint8Array, aadLength: number, buf: Uint8Array, offset: number, length: number): number;
	/**
	 * Verifies and decrypts buf[offset, offset + length) in place, `length` counting the 8-byte
	 * tag at its end. Returns the plaintext length (length - 8), or -1 when verification fails;
	 * then buf[offset, offset + length) is zeroed, so no unverified plaintext is ever exposed.
	 * Never throws on bad input (a too short `length` is a verification failure).
	 */
	open(nonce: Uint8Array, aad: Uint8Array, aadLength: number, buf: Uint8Array, offset: number, length: number): number;
	/** Overwrites the key material held (the key schedule); the object is unusable afterwards. */
	wipe(): void;
	/** Bytes of state this object holds (key schedule and scratch), for the memory budget. */
	readonly stateBytes: number;
}

/**
 * What OSCORE needs from a crypto provider: AEAD keys (algorithm 10) and HKDF-SHA-256
 * (RFC 5869), the KDF of RFC 8613 §3.2.1. A provider may allocate in `aead` and `hkdf`: they
 * run when a security context is derived, never per message.
 */
export interface OscoreCrypto {
	/** Imports a 16-byte key (copied; the caller may wipe its array afterwards). */
	aead(key: Uint8Array): Aead;
	/**
	 * HKDF-SHA-256: fills out[0, length) with HKDF(salt, ikm, info[0, infoLength), length).
	 * An empty salt is the RFC 5869 default (HashLen zero bytes).
	 */
	hkdf(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, infoLength: number, out: Uint8Array, length: number): void;
}
