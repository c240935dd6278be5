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
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { CoapDeviceConfig } from "../../modules/coap/device.js";
import type { Clock } from "../../modules/coap/host.js";
import type { Router } from "../../modules/coap/server/router.js";
import { SensorApp, type SensorDeviceConfig } from "../../examples/sensor/app.js";
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

/** Builds the example app over `board`; `sampleMs` paces its sampling, and so its notifications. */
export function buildSensorApp(board: SimulatedSensors, clock: Clock, config: SensorDeviceConfig, sampleMs: number): SensorDeviceApp {
	const app = new SensorApp(board, clock, { ...config, sampleMs, step: 0 }, { host: "Node.js (xscoap sim)", boardDescription: "simulated temperature and humidity" });
	return { router: app.router, start: () => app.start(), close: () => app.close() };
}
