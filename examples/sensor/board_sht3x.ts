/**
 * The sensor example's board with a Sensirion SHT3x on the board's default I2C bus
 * (`device.I2C.default`): build `examples/sensor/manifest_sht3x.json`, which maps the module
 * name "xscoap/examples/sensor/board" to this file. A sample takes the driver about 150 ms
 * (it waits 50 ms per command), so one sample serves every request for `MIN_SAMPLE_MS`.
 * A failed sample (no sensor, bad CRC) reads as NaN: the app answers 5.03.
 */
import SHT3x from "embedded:sensor/Humidity-Temperature/SHT3x";
import { ModdableClock } from "../../hosts/moddable/clock.js";
import type { SensorBoard } from "./app.js";
import { openLed } from "./led.js";

/** Readings younger than this are served from the last sample. */
export const MIN_SAMPLE_MS = 2000;

class Sht3xBoard implements SensorBoard {
	readonly #sensor: SHT3x | undefined;
	readonly #clock = new ModdableClock();
	readonly #led: (on: boolean) => void;
	#sampledAt = -MIN_SAMPLE_MS;
	#temperature = NaN;
	#humidity = NaN;

	constructor() {
		this.#led = openLed();
		const host = (globalThis as { device?: typeof device }).device;
		try {
			if (host !== undefined) this.#sensor = new SHT3x({ sensor: host.I2C.default });
		} catch (e) {
			trace("xscoap sensor: no SHT3x (" + String(e) + ")\n");
		}
	}

	#sample(): void {
		const now = this.#clock.now();
		if (now - this.#sampledAt < MIN_SAMPLE_MS || this.#sensor === undefined) return;
		this.#sampledAt = now;
		try {
			const s = this.#sensor.sample();
			this.#temperature = s.thermometer?.temperature ?? s.temperature ?? NaN;
			this.#humidity = s.hygrometer?.humidity ?? s.humidity ?? NaN;
		} catch {
			this.#temperature = this.#humidity = NaN;
		}
	}

	readTemperature(): number {
		this.#sample();
		return this.#temperature;
	}

	readHumidity(): number {
		this.#sample();
		return this.#humidity;
	}

	writeLed(on: boolean): void {
		this.#led(on);
	}
}

/** The board the app runs on, and a line saying what it is. */
export function createBoard(): { board: SensorBoard; description: string } {
	return { board: new Sht3xBoard(), description: "SHT3x on the default I2C bus" };
}
