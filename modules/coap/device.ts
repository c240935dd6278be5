/**
 * Device configuration: the `config.coap` record of a Moddable manifest (the root
 * manifest.json of this repository fixes the ESP32 profile) turned into endpoint options, and
 * the device memory budget computed from it.
 *
 * Values may arrive as strings: `mcconfig ... name=value` overrides config entries with text,
 * so every number is converted and range-checked here, at start-up, never on the message path.
 *
 * The budget is `memoryBudget()` (tuning.ts): the buffers and tables an Endpoint allocates,
 * Block-wise transfer slots, Observe registrations and OSCORE (security contexts, working
 * storage, the plain-message buffer, request bindings: oscore/budget.ts) included. Limits are
 * read generically from DEFAULT_LIMITS, so a limit added to tuning.ts is configurable here at once.
 */
import { DEFAULT_LIMITS, checkLimits, memoryBudget, type Limits } from "./tuning.js";

/**
 * `config.coap` as a manifest writes it: `port`, `multicast` and any field of `Limits`
 * (tuning.ts). Values are numbers, or strings from the mcconfig command line.
 */
export type CoapDeviceConfig = { readonly [key: string]: number | string | readonly string[] | undefined };

/** What a host needs to build the device's endpoint. */
export interface DeviceSettings {
	port: number;
	limits: Limits;
}

/**
 * The ESP32 profile (DESIGN.md "Memory budget"): the default limits of tuning.ts (1152-byte
 * messages, 4 client exchanges, 8 dedup entries, 2 block transfers of 4 KiB, 4 observers,
 * 2 OSCORE contexts) and port 5683. The root manifest.json carries the same values as
 * `config.coap` (a test keeps them equal).
 */
export const ESP32_DEVICE_CONFIG = Object.freeze({
	port: 5683,
	...DEFAULT_LIMITS,
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
	for (const k in c) {
		if (!(k in limits) && k !== "port" && k !== "multicast") throw new RangeError("config.coap." + k + " is not a known setting");
	}
	return { port, limits: limits as unknown as Limits };
}

function int(name: string, value: number | string | readonly string[] | undefined, fallback: number): number {
	if (value === undefined || value === "") return fallback;
	const n = typeof value === "number" ? value : typeof value === "string" ? Number(value) : NaN;
	if (!Number.isInteger(n)) throw new RangeError("config.coap." + name + " must be an integer, got " + JSON.stringify(value));
	return n;
}

/** One line of the budget. */
export interface BudgetPart {
	/** Short name: the part of the endpoint it is (memoryBudget's parts). */
	readonly name: string;
	readonly bytes: number;
}

export interface DeviceBudget {
	readonly total: number;
	readonly parts: readonly BudgetPart[];
}

/** Adds up the preallocated bytes of a device built from `settings`. */
export function deviceBudget(settings: DeviceSettings): DeviceBudget {
	const m = memoryBudget(settings.limits);
	const parts: BudgetPart[] = [];
	for (const k in m.parts) parts.push({ name: k, bytes: m.parts[k]! });
	return { total: m.total, parts };
}

/** What one more unit of a setting costs, in bytes, computed by differencing deviceBudget. */
export interface LimitCost {
	readonly name: string;
	readonly value: number;
	/** Bytes added by raising the setting by one (one byte, one slot, one entry...). */
	readonly perUnit: number;
	/** Bytes this setting accounts for at its current value: the budget minus the budget with the setting at 0. */
	readonly bytes: number;
}

/** Cost per unit of every limit of `settings` (the README's table). */
export function limitCosts(settings: DeviceSettings): LimitCost[] {
	const base = deviceBudget(settings).total;
	const out: LimitCost[] = [];
	const limits = settings.limits as unknown as Record<string, number>;
	for (const name in limits) {
		const value = limits[name]!;
		const at = (v: number) => deviceBudget({ ...settings, limits: { ...settings.limits, [name]: v } }).total;
		out.push({ name, value, perUnit: at(value + 1) - base, bytes: base - at(0) });
	}
	return out;
}
