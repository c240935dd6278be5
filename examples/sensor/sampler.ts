/**
 * Periodic sampling of the sensor board, and the decision when observers hear of it.
 *
 * Every `sampleMs` the sampler reads temperature and humidity from the board and keeps them;
 * the resources answer GETs from these samples, so a slow sensor (the SHT3x driver blocks
 * about 150 ms per sample) is read once per period, not once per request. It then tells the
 * temperature's observers (RFC 7641 §4.2, through the callback) when
 *   - the temperature moved by at least `step` since the value last notified, or the sensor
 *     started or stopped answering (a NaN sample, which the resource answers with 5.03);
 *   - or the last notification would be older than Max-Age at the next sample: RFC 7641 §4.2
 *     wants a fresh representation at least once per Max-Age, so a registered client never
 *     holds an expired value and never has to re-register (§3.3.1) while the value is steady.
 *
 * Time comes from the host's Clock port (modules/coap/host.ts): Moddable's Timer on the
 * device, setTimeout on Node, the virtual clock in tests. One timer, armed for absolute
 * deadlines on a fixed grid (start + k * sampleMs), so the period does not drift; a sampler
 * that fell more than a period behind (a long blocking call) skips the missed samples.
 * Leaves out: averaging or filtering samples, and notifying humidity (not observable).
 */
import type { Clock, Timer } from "../../modules/coap/host.js";
import type { SensorBoard } from "./app.js";

export interface SamplingSettings {
	/** Milliseconds between samples (> 0). */
	readonly sampleMs: number;
	/** Smallest temperature change (°C) that is notified at once (≥ 0; 0: every change). */
	readonly step: number;
	/** Max-Age of the readings in seconds: observers hear at least once within it. */
	readonly maxAge: number;
}

export class SensorSampler {
	/** Temperature (°C) of the last sample, NaN when the sensor did not answer. */
	temperature = NaN;
	/** Relative humidity (%) of the last sample, NaN when the sensor did not answer. */
	humidity = NaN;
	/** Samples taken so far. */
	samples = 0;
	/** Notifications triggered so far (each reaches every observer of the temperature). */
	notifications = 0;
	readonly #board: SensorBoard;
	readonly #clock: Clock;
	readonly #sampleMs: number;
	readonly #step: number;
	readonly #maxAgeMs: number;
	readonly #onChange: (this: any) => void;
	readonly #target: unknown;
	#timer: Timer | undefined;
	/** Deadline of the next sample on the clock, -1 while stopped. */
	#next = -1;
	/** The temperature observers last heard, and when. */
	#notified = NaN;
	#notifiedAt = 0;

	/**
	 * Takes a first sample at once (so the resources have values before `start()`).
	 * `onChange.call(target)` runs when observers should hear of the temperature.
	 * @throws TypeError for a missing board, clock or callback.
	 */
	constructor(board: SensorBoard, clock: Clock, settings: SamplingSettings, onChange: (this: any) => void, target?: unknown) {
		if (!board || !clock || typeof clock.createTimer !== "function") throw new TypeError("SensorSampler needs a board and a Clock");
		if (typeof onChange !== "function") throw new TypeError("onChange must be a function");
		this.#board = board;
		this.#clock = clock;
		this.#sampleMs = settings.sampleMs;
		this.#step = settings.step;
		this.#maxAgeMs = settings.maxAge * 1000;
		this.#onChange = onChange;
		this.#target = target;
		this.#read();
		this.#notified = this.temperature;
		this.#notifiedAt = clock.now();
	}

	/** True while the timer runs. */
	get running(): boolean {
		return this.#next >= 0;
	}

	/** Starts sampling every sampleMs (the first sample one period from now). Starting twice is harmless. */
	start(): void {
		if (this.#next >= 0) return;
		// The private method itself is the callback (the timer calls it with this sampler as
		// `this`): no closure, and no extra frames on the stack of every sample.
		this.#timer ??= this.#clock.createTimer(this.#tick, this);
		this.#next = this.#clock.now() + this.#sampleMs;
		this.#timer.schedule(this.#next);
	}

	/** Stops sampling and releases the timer; the last sample stays readable. Safe to call twice. */
	close(): void {
		this.#next = -1;
		this.#timer?.close();
		this.#timer = undefined;
	}

	/** One sample now, and a notification if it is due (what the timer runs; public for tests and hosts). */
	sample(): void {
		this.#read();
		const now = this.#clock.now();
		const t = this.temperature;
		const last = this.#notified;
		let due: boolean;
		if (t !== t || last !== last) due = (t !== t) !== (last !== last);
		else due = this.#step === 0 ? t !== last : Math.abs(t - last) >= this.#step - 1e-9;
		// RFC 7641 §4.2: notify before the previous notification's Max-Age runs out.
		if (!due && now - this.#notifiedAt + this.#sampleMs >= this.#maxAgeMs) due = true;
		if (!due) return;
		this.#notified = t;
		this.#notifiedAt = now;
		this.notifications++;
		this.#onChange.call(this.#target);
	}

	#read(): void {
		this.temperature = this.#board.readTemperature();
		this.humidity = this.#board.readHumidity();
		this.samples++;
	}

	#tick(): void {
		if (this.#next < 0) return;
		const now = this.#clock.now();
		this.#next += this.#sampleMs;
		if (this.#next <= now) this.#next = now + this.#sampleMs; // fell behind: skip, do not catch up
		this.#timer!.schedule(this.#next);
		this.sample();
	}
}
