/**
 * What `xscoap sim` prints: the device table, the ready-to-paste commands, and the live view
 * of the observed temperatures. On a terminal the live view is a block of lines redrawn in
 * place a few times a second (one line per device as far as the terminal is tall, then a
 * status line); elsewhere (a pipe, a file) it is one line per change, "NAME VALUE", with a
 * status line every 10 seconds.
 */
import type { DeviceInfo } from "../../../sim/fleet/shard.js";
import type { Fleet } from "../../../sim/fleet/fleet.js";

/** Rows of the device table shown in full; larger fleets show the first TABLE_HEAD rows. */
export const TABLE_FULL = 50;
export const TABLE_HEAD = 10;

/** Where a directory's lookup interfaces are (absolute URIs), as far as known. */
export interface LookupUris {
	readonly ep: string | null;
	readonly res: string | null;
}

/** The device table (endpoint name, URI, resources). */
export function deviceTable(devices: readonly DeviceInfo[], lookup: LookupUris): string {
	const shown = devices.length <= TABLE_FULL ? devices : devices.slice(0, TABLE_HEAD);
	const nameWidth = Math.max(8, ...shown.map((d) => d.name.length));
	const uriWidth = Math.max(3, ...shown.map((d) => d.uri.length));
	let s = "  " + "endpoint".padEnd(nameWidth) + "  " + "URI".padEnd(uriWidth) + "  resources\n";
	for (const d of shown) s += "  " + d.name.padEnd(nameWidth) + "  " + d.uri.padEnd(uriWidth) + "  " + d.resources.join(" ") + "\n";
	if (shown.length < devices.length) {
		const last = devices[devices.length - 1]!;
		s += "  ... and " + (devices.length - shown.length) + " more, up to " + last.name + " at " + last.uri;
		s += lookup.ep !== null ? " (all of them: npx xscoap get '" + lookup.ep + "?count=100&page=0')\n" : "\n";
	}
	return s;
}

/**
 * Two or three commands to paste: read a device, observe it, find them all in the directory.
 * With `credentials` (--oscore): the device's requests carry `--credentials FILE`, the LED is
 * switched (the resource that needs OSCORE), and aiocoap-client's form of the first request.
 */
export function readyCommands(devices: readonly DeviceInfo[], lookup: LookupUris, credentials: string | null = null): string {
	const d = devices[0]!;
	const cred = credentials === null ? "" : " --credentials " + shellWord(credentials);
	let s = "  npx xscoap get " + d.uri + "/sensors/temperature" + cred + "\n";
	s += "  npx xscoap get " + d.uri + "/sensors/temperature --observe" + cred + "\n";
	if (credentials !== null) s += "  npx xscoap put " + d.uri + "/actuators/led --payload on" + cred + "\n";
	if (lookup.res !== null) s += "  npx xscoap get '" + lookup.res + "?rt=temperature-c'\n";
	else if (credentials === null) s += "  npx xscoap put " + d.uri + "/actuators/led --payload on\n";
	if (credentials !== null) s += "  aiocoap-client" + cred + " " + d.uri + "/sensors/temperature\n";
	return s;
}

/** `text` as one shell word: as it is when it needs no quoting, else in single quotes. */
export function shellWord(text: string): string {
	return /^[A-Za-z0-9_\/.:@%+=,-]+$/.test(text) ? text : "'" + text.replace(/'/g, "'\\''") + "'";
}

/** "12.3 MB" */
export function megabytes(bytes: number): string {
	return (bytes / 1048576).toFixed(1) + " MB";
}

/** The status line: devices, registrations, notification rate, memory. */
export function statusLine(fleet: Fleet, rate: number, rss: number, baseRss: number, withRd: boolean): string {
	const n = fleet.devices.length;
	let s = n + " device" + (n === 1 ? "" : "s");
	if (withRd) s += ", " + fleet.registered + "/" + n + " registered";
	s += ", " + Math.round(rate) + " notifications/s";
	s += ", RSS " + megabytes(rss);
	// Per device only where the devices outweigh the process's own start-up growth.
	if (n >= 100) s += " (" + Math.max(0, (rss - baseRss) / n / 1024).toFixed(1) + " KiB per device)";
	return s;
}

/** The live view (see the file header). */
export class LiveView {
	readonly #fleet: Fleet;
	readonly #out: NodeJS.WriteStream;
	readonly #tty: boolean;
	readonly #withRd: boolean;
	readonly #baseRss: number;
	#drawn = 0;
	#timer: ReturnType<typeof setInterval> | undefined;
	#lastCount = 0;
	#lastAt = performance.now();
	#rate = 0;
	#statusAt = performance.now();
	/** Last registration location printed per device (non-terminal output). */
	readonly #locations: string[] = [];
	/** Last value printed per device (non-terminal output). */
	readonly #printed: string[] = [];

	constructor(fleet: Fleet, out: NodeJS.WriteStream, withRd: boolean, baseRss: number) {
		this.#fleet = fleet;
		this.#out = out;
		this.#tty = out.isTTY === true;
		this.#withRd = withRd;
		this.#baseRss = baseRss;
	}

	start(): void {
		this.#timer = setInterval(() => this.#tick(), this.#tty ? 250 : 1000);
		this.#timer.unref();
		if (this.#tty) this.#draw();
	}

	/** Values arrived (non-terminal output: one line each). */
	values(batch: readonly (number | string)[]): void {
		if (this.#tty) return;
		let s = "";
		const printed = this.#printed;
		for (let i = 0; i < batch.length; i += 2) {
			const index = batch[i] as number;
			const text = batch[i + 1] as string;
			if (printed[index] === text) continue; // a notification with the value already shown: no change
			printed[index] = text;
			s += this.#fleet.devices[index]!.name + " " + text + "\n";
		}
		if (s !== "") this.#out.write(s);
	}

	/** A device's registration changed (non-terminal output: one line when its location changes; the terminal's block shows it). */
	registration(index: number, location: string, registered: boolean): void {
		if (this.#tty || !registered || this.#locations[index] === location) return;
		this.#locations[index] = location;
		this.#out.write(this.#fleet.devices[index]!.name + " registered" + (location !== "" ? " at " + location : "") + "\n");
	}

	/** A line above the live block (registration news...). */
	note(line: string): void {
		if (this.#tty) {
			this.#erase();
			this.#out.write(line + "\n");
			this.#draw();
		} else this.#out.write(line + "\n");
	}

	#tick(): void {
		const now = performance.now();
		const n = this.#fleet.notifications;
		if (now - this.#lastAt >= 900) {
			this.#rate = ((n - this.#lastCount) * 1000) / (now - this.#lastAt);
			this.#lastCount = n;
			this.#lastAt = now;
		}
		if (this.#tty) this.#draw();
		else if (now - this.#statusAt >= 10000) {
			this.#statusAt = now;
			this.#out.write("status: " + statusLine(this.#fleet, this.#rate, process.memoryUsage().rss, this.#baseRss, this.#withRd) + "\n");
		}
	}

	#erase(): void {
		if (this.#drawn > 0) this.#out.write("\x1b[" + this.#drawn + "A\x1b[J");
		this.#drawn = 0;
	}

	#draw(): void {
		const fleet = this.#fleet;
		const rows = Math.max(3, (this.#out.rows ?? 24) - 2);
		const devices = fleet.devices;
		const shown = Math.min(devices.length, rows - 1);
		const width = Math.max(...devices.slice(0, shown).map((d) => d.name.length));
		let s = "";
		for (let i = 0; i < shown; i++) {
			const d = devices[i]!;
			const v = fleet.values[i]!;
			const reg = this.#withRd ? (fleet.registeredFlags[i] ? "  " + fleet.locations[i] : "  (not registered" + (fleet.problems[i] ? ": " + fleet.problems[i]!.slice(0, 60) : "") + ")") : "";
			s += "  " + d.name.padEnd(width) + "  " + (v === "" ? "…" : v + " °C").padEnd(10) + reg + "\x1b[K\n";
		}
		if (shown < devices.length) s += "  ... " + (devices.length - shown) + " more devices\x1b[K\n";
		s += statusLine(fleet, this.#rate, process.memoryUsage().rss, this.#baseRss, this.#withRd) + "\x1b[K\n";
		if (this.#drawn > 0) this.#out.write("\x1b[" + this.#drawn + "A");
		this.#out.write(s);
		this.#drawn = shown + (shown < devices.length ? 1 : 0) + 1;
	}

	/** Stops redrawing (the block stays on screen). */
	stop(): void {
		if (this.#timer !== undefined) clearInterval(this.#timer);
		this.#timer = undefined;
		if (this.#tty) this.#draw();
	}
}
