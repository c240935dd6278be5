/**
 * The firmware example a fleet device runs (examples/sensor), built on the Node host: its
 * settings as a Moddable build of examples/sensor/manifest.json would see them (`config.coap`,
 * `config.sensor`, from the manifest and its local includes), and the app over simulated
 * sensors. This file is the one place the fleet touches the example's API.
 *
 * Sampling: the example's temperature is observable; a fleet device tells its observers of the
 * temperature every `sampleMs` (default 1000 ms: each device notifies once per second, the
 * load `xscoap sim` and its benchmark are sized for). The example does not sample on a timer
 * of its own yet, so the device's `start()` runs that timer on the host's Clock port; when the
 * example gains its own sampler, `start()`/`close()` start and stop it instead.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { CoapDeviceConfig } from "../../modules/coap/device.js";
import type { Clock, Timer } from "../../modules/coap/host.js";
import type { Router } from "../../modules/coap/server/router.js";
import { sensorRouter, type SensorDeviceConfig } from "../../examples/sensor/app.js";
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

/** Builds the example app over `board`; `sampleMs` paces its notifications. */
export function buildSensorApp(board: SimulatedSensors, clock: Clock, config: SensorDeviceConfig, sampleMs: number): SensorDeviceApp {
	const router = sensorRouter(board, config);
	return new Sampling(router, clock, sampleMs);
}

/** Tells the temperature's observers every sampleMs (RFC 7641 §4.2), on one Clock timer on a fixed grid. */
class Sampling implements SensorDeviceApp {
	readonly router: Router;
	readonly #clock: Clock;
	readonly #sampleMs: number;
	#timer: Timer | undefined;
	#next = -1;

	constructor(router: Router, clock: Clock, sampleMs: number) {
		this.router = router;
		this.#clock = clock;
		this.#sampleMs = sampleMs;
	}

	start(): void {
		if (this.#next >= 0) return;
		this.#timer ??= this.#clock.createTimer(onSample, this);
		this.#next = this.#clock.now() + this.#sampleMs;
		this.#timer.schedule(this.#next);
	}

	tick(): void {
		if (this.#next < 0) return;
		const now = this.#clock.now();
		this.#next += this.#sampleMs;
		if (this.#next <= now) this.#next = now + this.#sampleMs; // fell behind: skip, do not catch up
		this.#timer!.schedule(this.#next);
		this.router.changed("/sensors/temperature");
	}

	close(): void {
		this.#next = -1;
		this.#timer?.close();
		this.#timer = undefined;
	}
}

function onSample(this: Sampling): void {
	this.tick();
}
