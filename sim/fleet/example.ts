/**
 * The firmware example a fleet device runs (examples/sensor), built on the Node host: its
 * settings as a Moddable build of examples/sensor/manifest.json would see them (`config.coap`,
 * `config.sensor`, from the manifest and its local includes), and the app over simulated
 * sensors. This file is the one place the fleet touches the example's API.
 *
 * Sampling: the example samples its board on a timer of the host's Clock port
 * (examples/sensor/sampler.ts) and tells the temperature's observers of changes. A fleet device
 * runs it with `step: 0` (every change is news): the simulated temperature changes at every
 * sample, so each device notifies once per `sampleMs` (default 1000 ms: once a second, the load
 * `xscoap sim` and its benchmark are sized for). `start()`/`close()` start and stop the sampler.
 *
 * OSCORE (`xscoap sim --oscore`): the device takes its context as the firmware does, from
 * `config.sensor.oscore` provisioned into its store (examples/sensor/oscore.ts); the store of a
 * fleet device is a Map in memory (its keys live for one run, see oscore.ts). With a context
 * the app serves /actuators/led only inside OSCORE, as on the device.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { CoapDeviceConfig } from "../../modules/coap/device.js";
import type { Clock } from "../../modules/coap/host.js";
import type { OscoreCrypto } from "../../modules/coap/oscore/aead.js";
import type { SecurityContext } from "../../modules/coap/oscore/context.js";
import type { Store } from "../../modules/coap/store.js";
import type { Router } from "../../modules/coap/server/router.js";
import { SensorApp, type SensorDeviceConfig } from "../../examples/sensor/app.js";
import { provisionSensorOscore, sensorOscoreContext } from "../../examples/sensor/oscore.js";
import type { SimulatedSensors } from "../../examples/sensor/simulated.js";

/** examples/sensor/manifest.json in the source tree (the build runs from build/sim/fleet/). */
export const SENSOR_MANIFEST = resolve(dirname(fileURLToPath(import.meta.url)), "../../../examples/sensor/manifest.json");

/** The `config` a Moddable build of the manifest at `path` sees: local includes first, merged key by key (as mcconfig does). */
export function manifestConfig(path: string, seen: Set<string> = new Set()): Record<string, unknown> {
	const config: Record<string, unknown> = {};
	if (seen.has(path)) return config;
	seen.add(path);
	const manifest = JSON.parse(readFileSync(path, "utf8")) as { include?: string | string[]; config?: Record<string, unknown> };
	const includes = manifest.include === undefined ? [] : typeof manifest.include === "string" ? [manifest.include] : manifest.include;
	for (const inc of includes) if (!inc.startsWith("$(")) merge(config, manifestConfig(resolve(dirname(path), inc), seen));
	merge(config, manifest.config ?? {});
	return config;
}

function merge(target: Record<string, unknown>, source: Record<string, unknown>): void {
	for (const k of Object.keys(source)) {
		const t = target[k];
		const v = source[k];
		if (t && v && typeof t === "object" && typeof v === "object" && !Array.isArray(t) && !Array.isArray(v)) merge(t as Record<string, unknown>, v as Record<string, unknown>);
		else target[k] = v;
	}
}

/** The example's `config.coap` and `config.sensor`. */
export function sensorExampleConfig(path = SENSOR_MANIFEST): { coap: CoapDeviceConfig; sensor: SensorDeviceConfig } {
	const config = manifestConfig(path);
	return { coap: (config.coap ?? {}) as CoapDeviceConfig, sensor: (config.sensor ?? {}) as SensorDeviceConfig };
}

/** The example's application on one fleet device. */
export interface SensorDeviceApp {
	readonly router: Router;
	/** Starts sampling (observers hear of the temperature every sampleMs). */
	start(): void;
	/** Stops sampling. */
	close(): void;
}

/**
 * Builds the example app over `board`; `sampleMs` paces its sampling, and so its
 * notifications. `requireOscore`: the device holds a security context (sensorOscore), so the
 * LED answers only protected requests.
 */
export function buildSensorApp(board: SimulatedSensors, clock: Clock, config: SensorDeviceConfig, sampleMs: number, requireOscore = false): SensorDeviceApp {
	const hardware = "simulated temperature and humidity" + (requireOscore ? "; OSCORE: /actuators/led requires it" : "");
	const app = new SensorApp(board, clock, { ...config, sampleMs, step: 0 }, { host: "Node.js (xscoap sim)", boardDescription: hardware, requireOscore });
	return { router: app.router, start: () => app.start(), close: () => app.close() };
}

/**
 * The device's security context as the firmware gets it: `oscore` (the keys of
 * `config.sensor.oscore`) provisioned into a fresh in-memory store, its sequence number kept
 * there (Appendix B.1.1); null when `oscore` gives none. @throws RangeError for bad keys.
 */
export function sensorOscore(oscore: unknown, crypto: OscoreCrypto): SecurityContext | null {
	const store = new MemoryStore();
	const settings = provisionSensorOscore(store, oscore);
	return settings === null ? null : sensorOscoreContext(settings, crypto, store);
}

/** A device's store in memory (a fleet device's stands for its Preference store; nothing outlives the run). */
class MemoryStore implements Store {
	readonly #values = new Map<string, Uint8Array>();

	read(key: string, into: Uint8Array): number {
		const v = this.#values.get(key);
		if (v === undefined) return 0;
		if (v.length > into.length) throw new RangeError("value of " + key + " is " + v.length + " bytes, buffer holds " + into.length);
		into.set(v);
		return v.length;
	}

	write(key: string, bytes: Uint8Array, length: number): void {
		this.#values.set(key, bytes.slice(0, length));
	}
}
