/**
 * The sensor example's board with a Sensirion SHT3x on the board's default I2C bus
 * (`device.I2C.default`): build `examples/sensor/manifest_sht3x.json`, which maps the module
 * name "xscoap/examples/sensor/board" to this file. A sample takes the driver about 150 ms
 * (it waits 50 ms per command); the app's sampler reads temperature and humidity one after
 * the other once per `config.sensor.sampleMs`, and one sample serves both reads (a sample
 * younger than `MIN_SAMPLE_MS` is reused).
 * A failed sample (no sensor, bad CRC) reads as NaN: the app answers 5.03.
 */
import SHT3x from "embedded:sensor/Humidity-Temperature/SHT3x";
import type { Clock } from "../../modules/coap/host.js";
import type { SensorBoard } from "./app.js";
import { openLed } from "./led.js";

/** A sample that ended less than this ago serves the next read (keep it below sampleMs - 150). */
export const MIN_SAMPLE_MS = 500;

class Sht3xBoard implements SensorBoard {
	readonly #sensor: SHT3x | undefined;
	readonly #clock: Clock;
	readonly #led: (on: boolean) => void;
	#sampledAt = -MIN_SAMPLE_MS;
	#temperature = NaN;
	#humidity = NaN;

	constructor(clock: Clock) {
		this.#clock = clock;
		this.#led = openLed();
		const host = (globalThis as { device?: typeof device }).device;
		try {
			if (host !== undefined) this.#sensor = new SHT3x({ sensor: host.I2C.default });
		} catch (e) {
			trace("xscoap sensor: no SHT3x (" + String(e) + ")\n");
		}
	}

	#sample(): void {
		if (this.#clock.now() - this.#sampledAt < MIN_SAMPLE_MS || this.#sensor === undefined) return;
		try {
			const s = this.#sensor.sample();
			this.#temperature = s.thermometer?.temperature ?? s.temperature ?? NaN;
			this.#humidity = s.hygrometer?.humidity ?? s.humidity ?? NaN;
		} catch {
			this.#temperature = this.#humidity = NaN;
		}
		this.#sampledAt = this.#clock.now(); // after the ~150 ms the driver takes
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

/** The board the app runs on (reading time from `clock`), and a line saying what it is. */
export function createBoard(clock: Clock): { board: SensorBoard; description: string } {
	return { board: new Sht3xBoard(clock), description: "SHT3x on the default I2C bus" };
}
