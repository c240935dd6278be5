/**
 * `xscoap sim` (and `npm start`): a fleet of simulated sensor devices on loopback, each the
 * firmware example of examples/sensor on the Node host on its own UDP port, registered with a
 * resource directory (RFC 9176) that the command starts (or an external one, `--rd URI`), and
 * a live view of their observed temperatures (RFC 7641; hosts/node/sim/view.ts). The fleet
 * itself is sim/fleet/. Ctrl-C (SIGINT, SIGTERM, SIGHUP, or the reader of the output going
 * away) removes every registration, closes everything and exits 0; a second Ctrl-C exits at once.
 *
 * `--oscore` (OSCORE, RFC 8613): every device gets security contexts of its own with keys made
 * for this run (sim/fleet/oscore.ts; random even with --seed, which only makes the simulated
 * values reproducible), the way the firmware takes one (config.sensor.oscore: /actuators/led
 * then answers only protected requests, 4.01 otherwise; the sensors answer both), and the
 * client's side is written as a credentials file in aiocoap's format with one context
 * directory per device (hosts/node/sim/credentials.ts; `--oscore-dir DIR`, default
 * $TMPDIR/xscoap-sim-P), printed with the ready commands. The live view observes over OSCORE
 * with contexts of its own. Registration with the directory stays plain CoAP.
 *
 * Exit status: 0 after Ctrl-C; 2 for a usage error (also an --oscore-dir that cannot be
 * written); 3 when the fleet cannot start (a port in use, for the directory or a device).
 */
import { webcrypto } from "node:crypto";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { parseCoapUri } from "../../../../modules/coap/uri/uri.js";
import { linkParam, parseLinkFormat, resolveReference, valueMatches } from "../../../../modules/coap/rd/links.js";
import { Fleet } from "../../../../sim/fleet/fleet.js";
import { fleetOscoreKeys, type DeviceOscoreKeys } from "../../../../sim/fleet/oscore.js";
import { ShardStartError } from "../../../../sim/fleet/shard.js";
import { DEFAULT_CONDITIONS, type LinkConditions } from "../../../../sim/impairment.js";
import { openEndpoint } from "../../ports.js";
import { EP_LOOKUP_PATH, RES_LOOKUP_PATH } from "../../rd/directory.js";
import { DirectoryServer } from "../../rd/server.js";
import { CredentialsDirError, defaultCredentialsDir, prepareCredentialsDir, writeFleetCredentials } from "../../sim/credentials.js";
import { LiveView, deviceTable, readyCommands, type LookupUris } from "../../sim/view.js";
import { type Args, type Command, EXIT_NO_RESPONSE, EXIT_OK, UsageError } from "../command.js";
import { hostPort } from "../net.js";

/** The loopback address the devices (and the directory started here) bind. */
const ADDRESS = "127.0.0.1";
/** Lifetime of the devices' registrations, s (renewed a quarter before it ends). */
const LIFETIME_S = 300;
/** How long Ctrl-C waits for the directory to confirm the removals, ms. */
const STOP_TIMEOUT_MS = 3000;

interface SimOptions {
	devices: number;
	workers: number;
	basePort: number;
	rd: string | null;
	seed: number;
	conditions: LinkConditions | null;
	/** --oscore: the directory of the client's credentials (absolute, prepared), else null. */
	oscoreDir: string | null;
}

async function readOptions(args: Args): Promise<SimOptions> {
	if (args.positional.length > 0) throw new UsageError("sim takes no arguments besides its options, got " + args.positional[0]);
	const devices = intFlag(args, "--devices", 3, 1, 20000);
	const workers = Math.min(devices, intFlag(args, "--workers", 1, 1, 64));
	const basePort = intFlag(args, "--base-port", 5683, 1, 65535);
	if (basePort + devices > 65535) throw new UsageError("--base-port " + basePort + " leaves no room for " + devices + " devices (they take ports " + (basePort + 1) + ".." + (basePort + devices) + ", at most 65535)");
	const loss = numberFlag(args, "--loss", 0, 0, 1, "a probability 0..1");
	const duplicate = numberFlag(args, "--duplicate", 0, 0, 1, "a probability 0..1");
	const delay = numberFlag(args, "--delay", 0, 0, 60000, "milliseconds 0..60000");
	const seed = intFlag(args, "--seed", 1, 0, 0xffffffff);
	let rd: string | null = null;
	const rdFlag = args.value("--rd");
	if (rdFlag !== undefined) {
		const u = parseCoapUri(rdFlag);
		if (typeof u === "string") throw new UsageError("--rd: " + u);
		if (u.query.length > 0) throw new UsageError("--rd takes the directory's coap://HOST[:PORT][/PATH], without a query");
		let host = u.host;
		if (!u.hostIsLiteral) {
			try {
				host = (await lookup(u.host, { family: 4 })).address;
			} catch {
				throw new UsageError("--rd: cannot resolve host " + u.host);
			}
		}
		if (isIP(host) !== 4) throw new UsageError("--rd: the devices use IPv4 loopback (" + ADDRESS + "); give the directory an IPv4 address, got " + host);
		rd = "coap://" + host + ":" + u.port + (u.path.length > 0 ? "/" + u.path.join("/") : "");
	}
	const impaired = loss > 0 || duplicate > 0 || delay > 0;
	const conditions: LinkConditions | null = impaired ? { ...DEFAULT_CONDITIONS, loss, duplicate, delayMs: delay, mtu: 65507 } : null;
	// --oscore-dir DIR implies --oscore; the directory is checked (and marked) before anything starts.
	let oscoreDir: string | null = null;
	if (args.has("--oscore") || args.value("--oscore-dir") !== undefined) {
		try {
			oscoreDir = prepareCredentialsDir(args.value("--oscore-dir") ?? defaultCredentialsDir(basePort));
		} catch (e) {
			if (e instanceof CredentialsDirError) throw new UsageError("--oscore-dir " + e.message);
			throw e;
		}
	}
	return { devices, workers, basePort, rd, seed, conditions, oscoreDir };
}

/** An option's value as a whole number in [min, max], or `fallback` when absent. */
function intFlag(args: Args, name: string, fallback: number, min: number, max: number): number {
	const v = args.value(name);
	if (v === undefined) return fallback;
	const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
	if (!(n >= min && n <= max)) throw new UsageError(name + " takes a whole number " + min + ".." + max + ", got " + JSON.stringify(v));
	return n;
}

/** An option's value as a number in [min, max], or `fallback` when absent. */
function numberFlag(args: Args, name: string, fallback: number, min: number, max: number, what: string): number {
	const v = args.value(name);
	if (v === undefined) return fallback;
	const n = v.trim() !== "" ? Number(v) : NaN;
	if (!(n >= min && n <= max)) throw new UsageError(name + " takes " + what + ", got " + JSON.stringify(v));
	return n;
}

/** Runs the fleet until Ctrl-C; resolves to the exit status. */
async function runSim(args: Args): Promise<number> {
	const o = await readOptions(args);
	const out = process.stdout;
	const started = performance.now();
	const baseRss = process.memoryUsage().rss;

	// The directory: ours on the base port, or the one given.
	let directory: DirectoryServer | undefined;
	let rdUri: string;
	if (o.rd === null) {
		try {
			directory = await DirectoryServer.start({ address: ADDRESS, port: o.basePort });
		} catch (e) {
			const why = (e as { code?: string }).code === "EADDRINUSE" ? "the port is in use. Use --base-port P to move the directory (P) and the devices (P+1..P+N), or --rd URI to use a directory that is already running" : (e as Error).message;
			process.stderr.write("error: cannot start the resource directory on " + ADDRESS + ":" + o.basePort + ": " + why + "\n");
			return EXIT_NO_RESPONSE;
		}
		rdUri = "coap://" + hostPort(ADDRESS, directory.port);
	} else rdUri = o.rd;

	const impairment = o.conditions === null ? "" : ", links impaired: loss " + o.conditions.loss + ", delay " + o.conditions.delayMs + " ms, duplicate " + o.conditions.duplicate;
	// OSCORE: fresh keys for every device (a cryptographic source; not the seed, see the header).
	const keys: DeviceOscoreKeys[] | null = o.oscoreDir === null ? null : fleetOscoreKeys(o.devices, (b) => webcrypto.getRandomValues(b));
	out.write("xscoap sim: " + o.devices + " simulated sensor device" + (o.devices === 1 ? "" : "s") + " (examples/sensor on the Node host), seed " + o.seed + (o.workers > 1 ? ", " + o.workers + " worker threads" : "") + impairment + (keys !== null ? ", OSCORE" : "") + "\n");
	out.write("resource directory: " + rdUri + (directory !== undefined ? " (started here; rt core.rd core.rd-lookup-ep core.rd-lookup-res)" : " (external)") + "\n\n");

	let view: LiveView | undefined;
	let allRegisteredAt = -1;
	// The fleet as the registration listener sees it (set once Fleet.start() returns; earlier
	// registrations are counted when the view starts).
	let fleetRef: Fleet | undefined;
	const pendingNotes: string[] = [];
	let fleet: Fleet;
	try {
		fleet = await Fleet.start(
			{ devices: o.devices, workers: o.workers, address: ADDRESS, basePort: o.basePort, rd: rdUri, lifetime: LIFETIME_S, conditions: o.conditions, seed: o.seed, observe: true, sampleMs: 1000, oscore: keys },
			{
				registration: (index, location, registered) => {
					if (view !== undefined) view.registration(index, location, registered);
					if (allRegisteredAt < 0 && fleetRef !== undefined && fleetRef.registered === o.devices) {
						allRegisteredAt = performance.now();
						const line = "registered " + o.devices + "/" + o.devices + " with " + rdUri + " in " + ((allRegisteredAt - started) / 1000).toFixed(2) + " s";
						if (view !== undefined) view.note(line);
						else pendingNotes.push(line);
					}
				},
				values: (batch) => view?.values(batch),
			},
		);
	} catch (e) {
		directory?.close();
		if (e instanceof ShardStartError) {
			const hint = e.code === "EADDRINUSE" ? ". The devices take ports " + (o.basePort + 1) + ".." + (o.basePort + o.devices) + ": choose a free range with --base-port" : "";
			process.stderr.write("error: " + e.message + hint + "\n");
		} else process.stderr.write("error: the fleet did not start: " + ((e as Error)?.message ?? String(e)) + "\n");
		return EXIT_NO_RESPONSE;
	}
	fleetRef = fleet;

	// The client's credentials, once the devices run (a run that could not start leaves the last ones alone).
	let credentials: string | null = null;
	if (keys !== null) {
		try {
			credentials = writeFleetCredentials(o.oscoreDir!, fleet.devices, keys);
		} catch (e) {
			await fleet.stop(STOP_TIMEOUT_MS);
			directory?.close();
			process.stderr.write("error: --oscore-dir " + (e as Error).message + "\n");
			return EXIT_NO_RESPONSE;
		}
	}

	const lookup: LookupUris = directory !== undefined ? { ep: rdUri + EP_LOOKUP_PATH, res: rdUri + RES_LOOKUP_PATH } : await discoverLookups(rdUri);
	out.write(deviceTable(fleet.devices, lookup));
	if (credentials !== null) {
		out.write("\nOSCORE (RFC 8613): each device has security contexts of its own, with keys made for this run; /actuators/led answers only protected requests (4.01 otherwise), the sensors answer both.\n");
		out.write("client credentials (xscoap and aiocoap format): " + credentials + "\n  one context directory per device: " + o.oscoreDir + "/sensor-NNN/ (the clients keep their sequence numbers there; the next run replaces them)\n");
	}
	out.write("\ntry:\n" + readyCommands(fleet.devices, lookup, credentials) + "\n");
	out.write("live temperatures" + (credentials !== null ? ", observed over OSCORE" : "") + " (Ctrl-C stops" + (out.isTTY ? "" : "; one line per change") + "):\n");
	view = new LiveView(fleet, out, true, baseRss);
	// Registrations that came before the view existed.
	for (let i = 0; i < fleet.devices.length; i++) view.registration(i, fleet.locations[i]!, fleet.registeredFlags[i]!);
	for (const line of pendingNotes.splice(0)) view.note(line);
	if (allRegisteredAt < 0 && fleet.registered === o.devices) {
		allRegisteredAt = performance.now();
		view.note("registered " + o.devices + "/" + o.devices + " with " + rdUri + " in " + ((allRegisteredAt - started) / 1000).toFixed(2) + " s");
	}
	view.start();
	// While not every device is registered, say so now and then (with the latest problem).
	const progress = setInterval(() => {
		if (allRegisteredAt >= 0) {
			clearInterval(progress);
			return;
		}
		const problem = fleet.problems.find((p) => p !== "") ?? "";
		view!.note("registered " + fleet.registered + "/" + o.devices + " with " + rdUri + " so far" + (problem !== "" ? " (" + problem + ")" : ""));
	}, 5000);

	await new Promise<void>((resolve) => {
		let stopping = false;
		const stop = () => {
			if (stopping) {
				// A second Ctrl-C: leave now.
				process.stderr.write("stopping at once\n");
				process.exit(130);
			}
			stopping = true;
			clearInterval(progress);
			view!.stop();
			out.write("\nstopping: removing " + fleet.registered + " registration" + (fleet.registered === 1 ? "" : "s") + " from " + rdUri + " ...\n");
			void fleet.stop(STOP_TIMEOUT_MS).then((r) => {
				directory?.close();
				process.removeListener("SIGINT", stop);
				process.removeListener("SIGTERM", stop);
				process.removeListener("SIGHUP", gone);
				const failed = r.failed > 0 ? ", " + r.failed + " without an answer from the directory (they expire after " + LIFETIME_S + " s)" : "";
				out.write("stopped: " + o.devices + " device" + (o.devices === 1 ? "" : "s") + ", " + r.deregistered + " deregistered" + failed + ", " + fleet.notifications + " notifications received\n");
				resolve();
			});
		};
		process.on("SIGINT", stop);
		process.on("SIGTERM", stop);
		// The terminal or the reader of the output went away (SIGHUP; EPIPE when piped into
		// `head`): deregister and stop all the same; later writes may fail and are ignored.
		const gone = () => {
			if (!stopping) stop();
		};
		process.once("SIGHUP", gone);
		out.on("error", gone);
	});
	return EXIT_OK;
}

/**
 * The lookup interfaces of an external directory, from its /.well-known/core (RFC 9176 §4.3:
 * rt=core.rd-lookup-ep and core.rd-lookup-res); null for the ones it does not list or when
 * it does not answer within 3 s.
 */
async function discoverLookups(rdUri: string): Promise<LookupUris> {
	const root = /^coap:\/\/[^/]+/.exec(rdUri)![0];
	const found: { ep: string | null; res: string | null } = { ep: null, res: null };
	let client;
	try {
		client = await openEndpoint({ address: ADDRESS, limits: { clientExchanges: 1, serverExchanges: 0, maxBodySize: 16384, blockTransfers: 1 } });
		const res = await client.request({ uri: root + "/.well-known/core?rt=core.rd-lookup-*", timeoutMs: 3000 });
		const links = res.ok ? parseLinkFormat(res.text()) : [];
		if (typeof links !== "string") {
			for (const l of links) {
				const rt = linkParam(l, "rt") ?? "";
				const target = resolveReference(root + "/", l.href);
				if (found.ep === null && valueMatches("rt", "core.rd-lookup-ep", rt)) found.ep = target;
				if (found.res === null && valueMatches("rt", "core.rd-lookup-res", rt)) found.res = target;
			}
		}
	} catch {
		// no answer: the commands leave the lookups out
	} finally {
		client?.close();
	}
	return found;
}

export const simCommand: Command = Object.freeze<Command>({
	handlesOutputLoss: true, // deregisters the devices first (below)
	names: ["sim"],
	synopsis: "[--devices N] [--rd URI] [--oscore] [--loss F] ...",
	summary: "simulate a fleet of sensor devices (examples/sensor) on 127.0.0.1 with a resource directory; npm start runs it",
	description:
		"Starts N devices, each the firmware example of examples/sensor on its own UDP port on 127.0.0.1 (ports P+1..P+N), and a resource directory on port P that they register with (or registers them with the directory at --rd URI). Prints a table of the devices, commands to paste, and then the temperatures as they are observed (in place on a terminal; one line per change in a pipe). Ctrl-C removes every registration, closes everything and exits 0.\n\n" +
		"--oscore gives every device OSCORE (RFC 8613) security contexts of its own, as the firmware takes one from config.sensor.oscore: /actuators/led then answers only protected requests (4.01 otherwise), the sensors answer both, and the live view observes over OSCORE. The client's side is written to --oscore-dir (default $TMPDIR/xscoap-sim-P): credentials.json, for xscoap --credentials and aiocoap-client --credentials, and a context directory per device. The keys are random and new at every run (--seed does not fix them); a run replaces the last run's directories.",
	options: [
		{ names: ["--devices"], value: "N", help: "devices to simulate, 1..20000 (default 3)" },
		{ names: ["--workers"], value: "W", help: "spread the devices over W worker threads, to use every core (default 1: all in the main thread)" },
		{ names: ["--base-port"], value: "P", help: "the directory takes port P, device i port P+i (default 5683)" },
		{ names: ["--rd"], value: "URI", help: "register with the directory at URI (coap://HOST[:PORT][/PATH], IPv4) instead of starting one" },
		{ names: ["--seed"], value: "S", help: "seed of the simulated values and of the link impairment, for reproducible runs (default 1)" },
		{ names: ["--loss"], value: "F", help: "probability 0..1 that a datagram on a device's link is lost (both directions; the virtual network's model, sim/impairment.ts)" },
		{ names: ["--duplicate"], value: "F", help: "probability 0..1 that a datagram on a device's link arrives twice" },
		{ names: ["--delay"], value: "MS", help: "one-way delay added on every device's link, milliseconds" },
		{ names: ["--oscore"], help: "OSCORE (RFC 8613): each device gets contexts of its own (new random keys every run, also with --seed) and /actuators/led takes only protected requests; the client's credentials file (aiocoap's format, for xscoap get and aiocoap-client --credentials) is written and printed with the commands" },
		{ names: ["--oscore-dir"], value: "DIR", help: "where --oscore writes credentials.json and a context directory per device, replacing the last run's (default $TMPDIR/xscoap-sim-P; implies --oscore)" },
	],
	helpSections: ["exit"],
	run: runSim,
});
