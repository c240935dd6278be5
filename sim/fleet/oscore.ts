/**
 * OSCORE (RFC 8613) of `xscoap sim --oscore`: the keys of each simulated device, made fresh
 * for every run, as plain data (hex strings) that crosses to worker threads, and the security
 * contexts a shard builds from them.
 *
 * A device holds two contexts, each with its own random Master Secret and Master Salt
 * (16 and 8 bytes, RFC 8613 §3.1, §12.3: random, used for this run only):
 *   - the client's: what the credentials file of the run names (the person's `xscoap get`,
 *     `aiocoap-client`). The device takes it the firmware's way, as `config.sensor.oscore`
 *     provisioned into its store (examples/sensor/oscore.ts, through example.ts), so it
 *     behaves as the firmware: /actuators/led only inside OSCORE, the sensors also without.
 *   - the observer's: the fleet's own observer (the live view) observes over OSCORE with a
 *     context of its own, so that it and the person's client never draw on one sender sequence
 *     number space (§7.2.1: a nonce is never used twice with a key; the client's numbers live
 *     in its context directory, the observer's in memory).
 * The IDs are distinct within each context and across the device's two (§3.3: the device finds
 * the context by the request's 'kid'): for device n (1-based, 16 bits big-endian) the client
 * sends as 01‖n and the device answers as 02‖n, the observer as 03‖n and the device as 04‖n.
 * A context of another device therefore names a 'kid' this device does not know: 4.01 (§8.2).
 *
 * Sequence numbers on the device side are kept in memory (the device's store is a Map): the
 * keys never outlive the run, so no number is used twice under one key even though every run
 * starts again at 0. Keys are random even with `--seed`: keys reproduced by a seed, with
 * sequence numbers that restart each run, would reuse nonces across runs.
 * Leaves out: ID Contexts, Appendix B.2, more than these two contexts per device.
 */
import type { OscoreCrypto } from "../../modules/coap/oscore/aead.js";
import { SecurityContext } from "../../modules/coap/oscore/context.js";

/** One security context's input parameters, hex (the client's view: clientId sends, deviceId answers). */
export interface ContextKeys {
	readonly secret: string;
	readonly salt: string;
	/** Sender ID of the client (the device's Recipient ID). */
	readonly clientId: string;
	/** Sender ID of the device (the client's Recipient ID). */
	readonly deviceId: string;
}

/** A device's two contexts (see the file header). */
export interface DeviceOscoreKeys {
	readonly client: ContextKeys;
	readonly observer: ContextKeys;
}

/** Bytes of a Master Secret and a Master Salt made here. */
export const SECRET_BYTES = 16;
export const SALT_BYTES = 8;

/** Most devices the 16-bit device number of the IDs can tell apart. */
export const MAX_OSCORE_DEVICES = 65535;

/** Fresh keys for devices 0..count-1, from `random` (a cryptographic source). */
export function fleetOscoreKeys(count: number, random: (out: Uint8Array) => void): DeviceOscoreKeys[] {
	if (!(Number.isInteger(count) && count >= 0 && count <= MAX_OSCORE_DEVICES)) throw new RangeError("OSCORE keys for 0.." + MAX_OSCORE_DEVICES + " devices, got " + count);
	const keys: DeviceOscoreKeys[] = [];
	const buf = new Uint8Array(2 * (SECRET_BYTES + SALT_BYTES));
	for (let i = 0; i < count; i++) {
		random(buf);
		const n = (i + 1).toString(16).padStart(4, "0");
		const at = (from: number, length: number) => toHex(buf.subarray(from, from + length));
		keys.push({
			client: { secret: at(0, SECRET_BYTES), salt: at(SECRET_BYTES, SALT_BYTES), clientId: "01" + n, deviceId: "02" + n },
			observer: { secret: at(SECRET_BYTES + SALT_BYTES, SECRET_BYTES), salt: at(2 * SECRET_BYTES + SALT_BYTES, SALT_BYTES), clientId: "03" + n, deviceId: "04" + n },
		});
	}
	return keys;
}

/** The device's side of the client's context as `config.sensor.oscore` takes it (examples/sensor/oscore.ts). */
export function deviceOscoreConfig(k: ContextKeys): Record<string, string> {
	return { secret_hex: k.secret, salt_hex: k.salt, "sender-id_hex": k.deviceId, "recipient-id_hex": k.clientId };
}

/** The client's side as a context directory's settings.json (aiocoap's format, hosts/node/credentials.ts). */
export function clientSettingsJson(k: ContextKeys): Record<string, string> {
	return { "sender-id_hex": k.clientId, "recipient-id_hex": k.deviceId, secret_hex: k.secret, salt_hex: k.salt, algorithm: "AES-CCM-16-64-128" };
}

/** A context in memory (no sequence number store): `side` "client" sends with clientId, "device" with deviceId. */
export function memoryContext(k: ContextKeys, side: "client" | "device", crypto: OscoreCrypto, label: string): SecurityContext {
	const client = fromHex(k.clientId);
	const device = fromHex(k.deviceId);
	return new SecurityContext(
		{
			masterSecret: fromHex(k.secret),
			masterSalt: fromHex(k.salt),
			senderId: side === "client" ? client : device,
			recipientId: side === "client" ? device : client,
			label,
		},
		crypto,
	);
}

function toHex(b: Uint8Array): string {
	let s = "";
	for (let i = 0; i < b.length; i++) s += (b[i]! < 16 ? "0" : "") + b[i]!.toString(16);
	return s;
}

function fromHex(s: string): Uint8Array {
	const out = new Uint8Array(s.length >> 1);
	for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
	return out;
}
