/**
 * OSCORE (RFC 8613) of the sensor example, configured by `config.sensor.oscore` and kept in the
 * device's store (the Moddable Preference store on a device), so that a key provisioned once
 * survives reboots and later firmware builds without it. With a context, `/actuators/led` is
 * served only inside OSCORE (4.01 otherwise) while the sensors stay readable without it.
 *
 * `config.sensor.oscore` takes the keys of an aiocoap / xscoap context directory's
 * settings.json (hosts/node/credentials.ts), byte strings as `_hex` or `_ascii`:
 *
 *   "oscore": { "secret_hex": "0102...", "salt_hex": "9e7c...", "sender-id_hex": "01",
 *               "recipient-id_hex": "02", "id-context_hex": "..." }     the device's side
 *   "oscore": false                                                    forget the stored context
 *   absent                                                             use the stored one, if any
 *
 * The parameters are stored under OSCORE_STORE_KEY (only when they differ from what is stored:
 * a flash write per change, not per boot); the Sender Sequence Number under
 * OSCORE_SEQUENCE_KEY (Appendix B.1.1: every 64 numbers). After a reboot the replay window is
 * unknown and the first request is answered 4.01 + Echo (B.1.2), which the clients repeat.
 * Host-neutral: the crypto provider and the store come from the host (main.ts on Moddable).
 * Leaves out: other algorithms than AES-CCM-16-64-128; more than one context.
 */
import type { OscoreCrypto } from "../../modules/coap/oscore/aead.js";
import { SecurityContext } from "../../modules/coap/oscore/context.js";
import type { Store } from "../../modules/coap/store.js";

/** The device's side of one security context (RFC 8613 §3.2). */
export interface SensorOscoreSettings {
	readonly masterSecret: Uint8Array;
	readonly masterSalt: Uint8Array | null;
	readonly senderId: Uint8Array;
	readonly recipientId: Uint8Array;
	readonly idContext: Uint8Array | null;
}

/** Store key of the provisioned parameters (PreferenceStore keys are at most 15 characters). */
export const OSCORE_STORE_KEY = "osc-ctx";
/** Store key of the Sender Sequence Number's high-water mark. */
export const OSCORE_SEQUENCE_KEY = "osc-seq";

const FIELDS = Object.freeze(["secret", "salt", "sender-id", "recipient-id", "id-context"] as const);
/** Longest stored record: a version byte, then length and bytes of each field. */
const MAX_RECORD = 1 + 5 + 64 + 32 + 7 + 7 + 32;

/**
 * Reads `config.sensor.oscore`: the settings, `false` to forget a stored context, or null when
 * absent. @throws RangeError naming the bad key (local misuse: a broken manifest).
 */
export function sensorOscoreSettings(value: unknown): SensorOscoreSettings | false | null {
	if (value === undefined || value === null || value === "") return null;
	if (value === false || value === "false" || value === "off") return false;
	if (typeof value !== "object" || Array.isArray(value)) throw new RangeError("config.sensor.oscore must be an object such as {\"secret_hex\": ..., \"sender-id_hex\": ..., \"recipient-id_hex\": ...}, or false");
	const o = value as Record<string, unknown>;
	const got: Record<string, Uint8Array> = {};
	for (const key in o) {
		const hexForm = key.endsWith("_hex");
		const base = hexForm ? key.slice(0, -4) : key.endsWith("_ascii") ? key.slice(0, -6) : "";
		if (base === "" || FIELDS.indexOf(base as (typeof FIELDS)[number]) < 0) throw new RangeError("config.sensor.oscore." + key + " is not a known setting (secret, salt, sender-id, recipient-id, id-context, each _hex or _ascii)");
		if (base in got) throw new RangeError("config.sensor.oscore." + base + " is given twice");
		const v = o[key];
		if (typeof v !== "string") throw new RangeError("config.sensor.oscore." + key + " must be a string");
		got[base] = hexForm ? hexBytes(v, key) : asciiBytes(v, key);
	}
	const need = (k: string): Uint8Array => {
		const v = got[k];
		if (v === undefined) throw new RangeError("config.sensor.oscore needs " + k + "_hex or " + k + "_ascii");
		return v;
	};
	const s: SensorOscoreSettings = { masterSecret: need("secret"), masterSalt: got.salt ?? null, senderId: need("sender-id"), recipientId: need("recipient-id"), idContext: got["id-context"] ?? null };
	if (s.masterSecret.length < 1 || s.masterSecret.length > 64) throw new RangeError("config.sensor.oscore: the secret must be 1..64 bytes");
	if ((s.masterSalt?.length ?? 0) > 32 || (s.idContext?.length ?? 0) > 32) throw new RangeError("config.sensor.oscore: salt and id-context are at most 32 bytes here");
	if (s.senderId.length > 7 || s.recipientId.length > 7) throw new RangeError("config.sensor.oscore: IDs are at most 7 bytes (RFC 8613 §3.3)");
	if (s.senderId.length === s.recipientId.length && sameBytes(s.senderId, s.recipientId, s.senderId.length)) throw new RangeError("config.sensor.oscore: sender-id and recipient-id must differ (RFC 8613 §3.3)");
	return s;
}

/**
 * Applies `config.sensor.oscore` to the store (writes only a change) and returns what the
 * device is to use: the stored context's settings, or null for none.
 * @throws RangeError for a bad config (see sensorOscoreSettings); what the store throws.
 */
export function provisionSensorOscore(store: Store, config: unknown): SensorOscoreSettings | null {
	const wanted = sensorOscoreSettings(config);
	const buf = new Uint8Array(MAX_RECORD);
	const n = store.read(OSCORE_STORE_KEY, buf);
	const stored = n > 0 ? decode(buf, n) : null;
	if (wanted === false) {
		if (n > 0) store.write(OSCORE_STORE_KEY, buf, 0);
		return null;
	}
	if (wanted === null) return stored;
	const record = encode(wanted);
	if (n !== record.length || !sameBytes(buf, record, n)) store.write(OSCORE_STORE_KEY, record, record.length);
	return wanted;
}

/** The security context of the settings, its sequence number kept in `store` (B.1.1). */
export function sensorOscoreContext(settings: SensorOscoreSettings, crypto: OscoreCrypto, store: Store): SecurityContext {
	return new SecurityContext({ ...settings, sequence: { store, key: OSCORE_SEQUENCE_KEY }, label: "provisioned" }, crypto);
}

/** The stored record: version 1, then each field as a length byte (255: absent) and its bytes. */
function encode(s: SensorOscoreSettings): Uint8Array {
	const fields = [s.masterSecret, s.masterSalt, s.senderId, s.recipientId, s.idContext];
	let length = 1;
	for (const f of fields) length += 1 + (f === null ? 0 : f.length);
	const out = new Uint8Array(length);
	out[0] = 1;
	let p = 1;
	for (const f of fields) {
		if (f === null) {
			out[p++] = 255;
			continue;
		}
		out[p++] = f.length;
		out.set(f, p);
		p += f.length;
	}
	return out;
}

/** A stored record back into settings; null for an empty or unreadable one (nothing provisioned). */
function decode(b: Uint8Array, n: number): SensorOscoreSettings | null {
	if (n < 6 || b[0] !== 1) return null;
	const fields: (Uint8Array | null)[] = [];
	let p = 1;
	for (let i = 0; i < 5; i++) {
		if (p >= n) return null;
		const len = b[p++]!;
		if (len === 255) {
			fields.push(null);
			continue;
		}
		if (p + len > n) return null;
		fields.push(b.slice(p, p + len));
		p += len;
	}
	const [masterSecret, masterSalt, senderId, recipientId, idContext] = fields;
	if (!masterSecret || !senderId || !recipientId) return null;
	return { masterSecret, masterSalt: masterSalt ?? null, senderId, recipientId, idContext: idContext ?? null };
}

function sameBytes(a: Uint8Array, b: Uint8Array, n: number): boolean {
	for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
	return true;
}

function hexBytes(text: string, key: string): Uint8Array {
	if (text.length % 2 !== 0) throw new RangeError("config.sensor.oscore." + key + ": an even number of hex digits");
	const out = new Uint8Array(text.length / 2);
	for (let i = 0; i < out.length; i++) {
		const v = parseInt(text.slice(2 * i, 2 * i + 2), 16);
		if (!(v >= 0 && v <= 255) || !/^[0-9a-fA-F]{2}$/.test(text.slice(2 * i, 2 * i + 2))) throw new RangeError("config.sensor.oscore." + key + ": not hex");
		out[i] = v;
	}
	return out;
}

function asciiBytes(text: string, key: string): Uint8Array {
	const out = new Uint8Array(text.length);
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		if (c > 0x7e || c < 0x20) throw new RangeError("config.sensor.oscore." + key + ": printable ASCII only (use _hex for other bytes)");
		out[i] = c;
	}
	return out;
}
