/**
 * Store: the small synchronous key-value port through which the stack keeps state across
 * reboots (OSCORE sender sequence numbers and replay windows, RFC 8613 Appendix B.1, are the
 * first users). Shaped like ECMA-419 `embedded:storage/key-value`'s `read(key, buffer)`:
 * values are byte strings copied into a buffer the caller owns, so a read allocates nothing
 * in the stack.
 *
 * Also here: `PreferenceStore`, the adapter over a Moddable-`Preference`-shaped backend
 * (`get(domain, key)` / `set(domain, key, value)` with ArrayBuffer values). It holds no
 * Moddable import: hosts/moddable hands it the real `preference` module, tests hand it a fake.
 *
 * Wear: every `write` is a flash write on a device (ESP32 NVS). Callers write rarely, e.g.
 * when a reserved block of sequence numbers runs out, never per message.
 * Leaves out: deletion, enumeration, transactions (a write replaces one value atomically as
 * far as the backend does).
 */

/** Synchronous key-value storage for small binary values. */
export interface Store {
	/**
	 * Copies the value of `key` into `into` and returns the number of bytes copied: 0 when the
	 * key is absent. A stored value longer than `into` is not truncated silently: throws
	 * RangeError (local misuse: the caller sized its buffer wrong).
	 */
	read(key: string, into: Uint8Array): number;
	/** Stores `bytes[0, length)` under `key`, replacing any previous value. `bytes` is only borrowed. */
	write(key: string, bytes: Uint8Array, length: number): void;
}

/** The subset of Moddable's `preference` module that PreferenceStore uses. */
export interface PreferenceBackend {
	get(domain: string, key: string): string | boolean | number | ArrayBuffer | undefined;
	set(domain: string, key: string, value: string | boolean | number | ArrayBuffer): void;
}

/** ESP32 NVS limits names to 15 characters (NVS_KEY_NAME_MAX_SIZE 16 with the terminator). */
export const MAX_STORE_NAME_LENGTH = 15;
/** Largest value this adapter writes: well under NVS's blob limit, and small on purpose (see header). */
export const MAX_STORE_VALUE_LENGTH = 1024;

/**
 * A Store over a Preference-shaped backend, all keys in one domain (an NVS namespace on the
 * ESP32, a file on the simulators). Values are stored as ArrayBuffers.
 */
export class PreferenceStore implements Store {
	readonly domain: string;
	readonly #backend: PreferenceBackend;

	/** @throws TypeError for a missing backend; RangeError for a domain that is not 1..15 printable ASCII characters. */
	constructor(backend: PreferenceBackend, domain = "xscoap") {
		if (!backend || typeof backend.get !== "function" || typeof backend.set !== "function") throw new TypeError("PreferenceStore needs a backend with get() and set()");
		checkName("domain", domain);
		this.#backend = backend;
		this.domain = domain;
	}

	read(key: string, into: Uint8Array): number {
		checkName("key", key);
		const value = this.#backend.get(this.domain, key);
		if (!(value instanceof ArrayBuffer)) return 0; // absent, or not written by this adapter
		const length = value.byteLength;
		if (length > into.length) throw new RangeError("value of " + key + " is " + length + " bytes, buffer holds " + into.length);
		into.set(new Uint8Array(value));
		return length;
	}

	write(key: string, bytes: Uint8Array, length: number): void {
		checkName("key", key);
		if (!(Number.isInteger(length) && length >= 0 && length <= bytes.length)) throw new RangeError("length must be 0.." + bytes.length + ", got " + length);
		if (length > MAX_STORE_VALUE_LENGTH) throw new RangeError("value of " + key + " is " + length + " bytes, at most " + MAX_STORE_VALUE_LENGTH);
		// The backend keeps what it is given: hand it a copy (one allocation per write; writes are rare).
		this.#backend.set(this.domain, key, bytes.slice(0, length).buffer);
	}
}

function checkName(what: string, name: string): void {
	if (typeof name !== "string" || name.length < 1 || name.length > MAX_STORE_NAME_LENGTH) {
		throw new RangeError(what + " must be 1.." + MAX_STORE_NAME_LENGTH + " characters, got " + JSON.stringify(name));
	}
	for (let i = 0; i < name.length; i++) {
		const c = name.charCodeAt(i);
		if (c < 0x21 || c > 0x7e) throw new RangeError(what + " must be printable ASCII, got " + JSON.stringify(name));
	}
}
