/**
 * A simulated SensorBoard: temperature and humidity as slow sine waves of the time a clock
 * reports, and an LED that only reports its changes. Deterministic for a given clock, so the
 * virtual-network tests and a fleet simulation get reproducible readings. Used by the Node
 * host (`xscoap device`), the tests, and the firmware on boards without the sensor.
 */
import type { SensorBoard } from "./app.js";

export interface SimulatedSensorOptions {
	/** Milliseconds from any start (the host clock, or the virtual clock in tests). */
	now(): number;
	/** Called when the LED changes (a console line on the Node host, trace() on Moddable). */
	onLed?(on: boolean): void;
	/** Mean temperature, °C (default 21.5). */
	readonly temperature?: number;
	/** Mean relative humidity, % (default 45). */
	readonly humidity?: number;
}

/**
 * Periods of the simulated variation. Two minutes for the temperature: fast enough that an
 * observer sees it move by the example's 0.1 °C step every second or two around the mean,
 * and steady near the extremes (where only the Max-Age refreshes come).
 */
export const TEMPERATURE_PERIOD_MS = 120000; // 2 min, ±1.5 °C
export const HUMIDITY_PERIOD_MS = 900000; // 15 min, ±5 %

export class SimulatedSensors implements SensorBoard {
	/** The LED as last written. */
	led = false;
	readonly #now: () => number;
	readonly #onLed: ((on: boolean) => void) | undefined;
	readonly #temperature: number;
	readonly #humidity: number;

	constructor(options: SimulatedSensorOptions) {
		if (!options || typeof options.now !== "function") throw new TypeError("SimulatedSensors needs { now() }");
		this.#now = options.now;
		this.#onLed = options.onLed;
		this.#temperature = options.temperature ?? 21.5;
		this.#humidity = options.humidity ?? 45;
	}

	readTemperature(): number {
		return this.#temperature + 1.5 * Math.sin((2 * Math.PI * this.#now()) / TEMPERATURE_PERIOD_MS);
	}

	readHumidity(): number {
		return this.#humidity + 5 * Math.sin((2 * Math.PI * this.#now()) / HUMIDITY_PERIOD_MS + 1);
	}

	writeLed(on: boolean): void {
		const changed = on !== this.led;
		this.led = on;
		if (changed && this.#onLed !== undefined) this.#onLed(on);
	}
}
