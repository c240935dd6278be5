/**
 * Device configuration: the `config.coap` record of a Moddable manifest (the root
 * manifest.json of this repository fixes the ESP32 profile) turned into endpoint options, and
 * the device memory budget computed from it.
 *
 * Values may arrive as strings: `mcconfig ... name=value` overrides config entries with text,
 * so every number is converted and range-checked here, at start-up, never on the message path.
 *
 * The budget adds `memoryBudget()` (tuning.ts: the buffers an Endpoint allocates, Block-wise
 * transfer slots included) to reservations for the tables that later work adds to the same
 * device (Observe registrations, RFC 7641; OSCORE security contexts, RFC 8613). Reservations
 * are estimates with the per-item sizes stated below; they keep those features' room in the
 * 24 KiB budget (DESIGN.md "Memory budget") visible and tested before they exist. Limits are
 * read generically from DEFAULT_LIMITS, so a limit added to tuning.ts is configurable here at
 * once (and a reservation that becomes a limit stops being reserved).
 */
import { DEFAULT_LIMITS, checkLimits, memoryBudget, type Limits } from "./tuning.js";

/**
 * `config.coap` as a manifest writes it: `port`, `multicast`, any field of `Limits` (tuning.ts)
 * and the reservations below. Values are numbers, or strings from the mcconfig command line.
 */
export type CoapDeviceConfig = { readonly [key: string]: number | string | readonly string[] | undefined };

/** Tables that later features add to the device; sized now so the budget stays honest. */
export interface Reservations {
	/** Observe registrations (RFC 7641) the server will keep. */
	observers: number;
	/** OSCORE security contexts (RFC 8613). */
	oscoreContexts: number;
}

/** What a host needs to build the device's endpoint. */
export interface DeviceSettings {
	port: number;
	limits: Limits;
	/** Reservations that are not (yet) limits of the Endpoint. */
	reserved: Partial<Reservations>;
}

/**
 * Per Observe registration: token (8), peer port and address reference, sequence number, MID,
 * flags (estimate).
 */
export const OBSERVER_BYTES = 48;
/**
 * Per OSCORE context: sender and recipient keys (2 x 16), common IV (13), sender/recipient
 * IDs and ID context (3 x 8), sender sequence number and replay window (24), nonce and AAD
 * scratch (13 + 64), rounded up (estimate; RFC 8613 §3).
 */
export const OSCORE_CONTEXT_BYTES = 192;

/** Bytes per reserved item. A reservation that becomes a Limits field is counted by memoryBudget instead. */
export const RESERVATION_BYTES: Readonly<Record<keyof Reservations, number>> = Object.freeze({
	observers: OBSERVER_BYTES,
	oscoreContexts: OSCORE_CONTEXT_BYTES,
});

/**
 * The ESP32 profile (DESIGN.md "Memory budget"): the default limits of tuning.ts (1152-byte
 * messages, 4 client exchanges, 8 dedup entries, 2 block transfers of 4 KiB, 4 observers),
 * port 5683, and room for 2 OSCORE contexts (`observers` is also listed so the profile keeps 4
 * of them even where Observe is not a limit). The root manifest.json carries the same values
 * as `config.coap` (a test keeps them equal).
 */
export const ESP32_DEVICE_CONFIG = Object.freeze({
	port: 5683,
	...DEFAULT_LIMITS,
	observers: 4,
	oscoreContexts: 2,
});

/** The budget the default profile must stay under (DESIGN.md, issue 4). */
export const DEVICE_BUDGET_BYTES = 24 * 1024;

/**
 * Reads a `config.coap` record. Absent fields take the ESP32 profile's values.
 * @throws RangeError naming the first field that is unknown or not an integer in range (local
 * misuse: a misspelt limit would otherwise be ignored silently).
 */
export function deviceSettings(config: CoapDeviceConfig | undefined = {}): DeviceSettings {
	const c = config ?? {};
	const d = ESP32_DEVICE_CONFIG as unknown as Record<string, number>;
	const limits = {} as Record<string, number>;
	for (const k in DEFAULT_LIMITS) limits[k] = int(k, c[k], (DEFAULT_LIMITS as unknown as Record<string, number>)[k]!);
	checkLimits(limits as unknown as Limits);
	const port = int("port", c.port, d.port!);
	if (port < 0 || port > 65535) throw new RangeError("config.coap.port must be 0..65535, got " + port);
	const reserved: Partial<Reservations> = {};
	for (const k in RESERVATION_BYTES) {
		if (k in limits) continue; // now a real limit
		const n = int(k, c[k], d[k]!);
		if (n < 0) throw new RangeError("config.coap." + k + " must not be negative, got " + n);
		reserved[k as keyof Reservations] = n;
	}
	for (const k in c) {
		if (!(k in limits) && !(k in RESERVATION_BYTES) && k !== "port" && k !== "multicast") throw new RangeError("config.coap." + k + " is not a known setting");
	}
	return { port, limits: limits as unknown as Limits, reserved };
}

function int(name: string, value: number | string | readonly string[] | undefined, fallback: number): number {
	if (value === undefined || value === "") return fallback;
	const n = typeof value === "number" ? value : typeof value === "string" ? Number(value) : NaN;
	if (!Number.isInteger(n)) throw new RangeError("config.coap." + name + " must be an integer, got " + JSON.stringify(value));
	return n;
}

/** One line of the budget. */
export interface BudgetPart {
	/** Short name: the limit or reservation it comes from. */
	readonly name: string;
	readonly bytes: number;
	/** True for estimates of tables not allocated yet (see Reservations). */
	readonly reserved: boolean;
}

export interface DeviceBudget {
	readonly total: number;
	/** Preallocated by an Endpoint today (memoryBudget). */
	readonly allocated: number;
	readonly parts: readonly BudgetPart[];
}

/** Adds up the preallocated bytes of a device built from `settings`, reservations included. */
export function deviceBudget(settings: DeviceSettings): DeviceBudget {
	const m = memoryBudget(settings.limits);
	const parts: BudgetPart[] = [];
	for (const k in m.parts) parts.push({ name: k, bytes: m.parts[k]!, reserved: false });
	for (const k in settings.reserved) {
		const n = settings.reserved[k as keyof Reservations]!;
		parts.push({ name: k, bytes: n * RESERVATION_BYTES[k as keyof Reservations], reserved: true });
	}
	let total = 0;
	for (const p of parts) total += p.bytes;
	return { total, allocated: m.total, parts };
}

/** What one more unit of a setting costs, in bytes, computed by differencing deviceBudget. */
export interface LimitCost {
	readonly name: string;
	readonly value: number;
	/** Bytes added by raising the setting by one (one byte, one slot, one entry...). */
	readonly perUnit: number;
	/** Bytes this setting accounts for at its current value: the budget minus the budget with the setting at 0. */
	readonly bytes: number;
	/** True for a reservation (not allocated by the Endpoint yet). */
	readonly reserved: boolean;
}

/** Cost per unit of every limit and reservation of `settings` (the README's table). */
export function limitCosts(settings: DeviceSettings): LimitCost[] {
	const base = deviceBudget(settings).total;
	const out: LimitCost[] = [];
	const limits = settings.limits as unknown as Record<string, number>;
	for (const name in limits) {
		const value = limits[name]!;
		const at = (v: number) => deviceBudget({ ...settings, limits: { ...settings.limits, [name]: v } }).total;
		out.push({ name, value, perUnit: at(value + 1) - base, bytes: base - at(0), reserved: false });
	}
	for (const name in settings.reserved) {
		const value = settings.reserved[name as keyof Reservations]!;
		const at = (v: number) => deviceBudget({ ...settings, reserved: { ...settings.reserved, [name]: v } }).total;
		out.push({ name, value, perUnit: at(value + 1) - base, bytes: base - at(0), reserved: true });
	}
	return out;
}
