/**
 * `xscoap sim --oscore` (OSCORE, RFC 8613) over real UDP on loopback: the fleet as a child
 * process, used through the credentials file it prints with `xscoap get/put --credentials`
 * (protected GET of a sensor and PUT of the LED; a plain PUT of the LED gets 4.01, a plain GET
 * of a sensor works; another device's context is refused), the live view's values, a second
 * run in the same directory with new keys and no stale sequence numbers (with worker threads),
 * the observer's notifications protected (a shard in this process), and the errors for a
 * directory that cannot take the credentials.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { webcrypto } from "node:crypto";
import { openEndpoint } from "../../hosts/node/ports.js";
import { Shard, ShardStartError } from "../../sim/fleet/shard.js";
import { fleetOscoreKeys } from "../../sim/fleet/oscore.js";
import { Child, XSCOAP, interrupt, killAll, randomBase, startSim, xscoap } from "./helpers.js";

/** Waits until the live view (one line per change in a pipe) has shown `count` values of every named device. */
async function liveValues(child: Child, names: string[], count: number): Promise<void> {
	for (const name of names) await child.waitFor(new RegExp("(?:^" + name + " \\d+\\.\\d\\d\\n[^]*){" + count + "}", "m"), 15000);
}

describe("xscoap sim --oscore (a security context per device, the client's credentials file)", function () {
	this.timeout(120000);
	let tmp: string;

	before(() => {
		tmp = mkdtempSync(join(tmpdir(), "xscoap-sim-oscore-test-"));
	});

	after(() => {
		killAll();
		rmSync(tmp, { recursive: true, force: true });
	});

	it("--devices 3: with the printed credentials file a protected GET and PUT succeed, a plain PUT of the LED gets 4.01, a plain GET of a sensor works, another device's context is refused; the live view shows values", async () => {
		const dir = join(tmp, "creds");
		const { child, base } = await startSim(["--oscore", "--devices", "3", "--oscore-dir", dir], 4, /registered 3\/3 with /);
		try {
			const file = join(dir, "credentials.json");
			assert.match(child.stdout, /^xscoap sim: 3 simulated sensor devices .*, OSCORE\n/);
			assert.ok(child.stdout.includes("client credentials (xscoap and aiocoap format): " + file + "\n"), child.stdout);
			const uri = (i: number) => "coap://127.0.0.1:" + (base + i);
			// The ready commands carry the file.
			assert.ok(child.stdout.includes("  npx xscoap get " + uri(1) + "/sensors/temperature --credentials " + file + "\n"), child.stdout);
			assert.ok(child.stdout.includes("  npx xscoap put " + uri(1) + "/actuators/led --payload on --credentials " + file + "\n"), child.stdout);
			assert.ok(child.stdout.includes("  aiocoap-client --credentials " + file + " " + uri(1) + "/sensors/temperature\n"), child.stdout);
			assert.match(child.stdout, /live temperatures, observed over OSCORE/);

			// The file: each device's URI pattern names its own context directory (absolute).
			const creds = JSON.parse(readFileSync(file, "utf8")) as Record<string, { oscore: { basedir: string } }>;
			assert.deepEqual(Object.keys(creds).sort(), [1, 2, 3].map((i) => uri(i) + "/*"));
			const settings = [1, 2, 3].map((i) => {
				const ctx = creds[uri(i) + "/*"]!.oscore.basedir;
				assert.equal(ctx, join(dir, "sensor-00" + i) + "/");
				assert.equal(statSync(ctx).mode & 0o777, 0o700);
				assert.equal(statSync(join(ctx, "settings.json")).mode & 0o777, 0o600, "the secret is the owner's only");
				return JSON.parse(readFileSync(join(ctx, "settings.json"), "utf8")) as Record<string, string>;
			});
			for (const s of settings) {
				assert.match(s.secret_hex!, /^[0-9a-f]{32}$/);
				assert.notEqual(s["sender-id_hex"], s["recipient-id_hex"]);
			}
			assert.equal(new Set(settings.map((s) => s.secret_hex)).size, 3, "a secret per device");
			assert.equal(new Set(settings.map((s) => s["sender-id_hex"])).size, 3, "IDs per device");

			// A protected GET of a sensor: sent as OSCORE (outer POST, RFC 8613 §4.2), answered.
			let r = await xscoap(["get", uri(1) + "/sensors/temperature", "--credentials", file, "-v"]);
			assert.equal(r.code, 0, r.stderr);
			assert.match(r.stdout, /^\d+\.\d\d$/);
			assert.match(r.stderr, /-> 127\.0\.0\.1:\d+ CON POST .*OSCORE/);
			assert.doesNotMatch(r.stderr, /-> 127\.0\.0\.1:\d+ CON GET /);
			// A protected PUT of the LED, read back.
			r = await xscoap(["put", uri(1) + "/actuators/led", "--payload", "on", "--credentials", file]);
			assert.equal(r.code, 0, r.stderr);
			r = await xscoap(["get", uri(1) + "/actuators/led", "--credentials", file]);
			assert.equal(r.stdout, "1");
			// A plain PUT of the LED: 4.01 (the firmware's requireOscore), and the LED stays on.
			r = await xscoap(["put", uri(1) + "/actuators/led", "--payload", "off"]);
			assert.equal(r.code, 1);
			assert.match(r.stderr, /4\.01 Unauthorized/);
			r = await xscoap(["get", uri(1) + "/actuators/led", "--credentials", file]);
			assert.equal(r.stdout, "1");
			// A plain GET of a sensor works.
			r = await xscoap(["get", uri(2) + "/sensors/humidity"]);
			assert.equal(r.code, 0, r.stderr);
			assert.match(r.stdout, /^\d+\.\d\d$/);
			// The second device's context cannot talk to the first: its 'kid' is unknown there (§8.2: 4.01).
			const wrong = join(tmp, "wrong.json");
			writeFileSync(wrong, JSON.stringify({ [uri(1) + "/*"]: { oscore: { basedir: creds[uri(2) + "/*"]!.oscore.basedir } } }));
			r = await xscoap(["get", uri(1) + "/sensors/temperature", "--credentials", wrong]);
			assert.notEqual(r.code, 0);
			assert.equal(r.stdout, "");
			assert.match(r.stderr, /COAP_OSCORE: the server answered 4\.01 Unauthorized without OSCORE protection: Security context not found/);
			// ... while it still works with its own device.
			r = await xscoap(["get", uri(2) + "/sensors/temperature", "--credentials", file]);
			assert.equal(r.code, 0, r.stderr);

			// The live view: every device's temperature, observed (over OSCORE), several times.
			await liveValues(child, ["sensor-001", "sensor-002", "sensor-003"], 2);

			assert.equal((await interrupt(child)).code, 0, child.stderr);
			assert.equal(child.stderr, "");
			assert.ok(existsSync(join(dir, "sensor-001", "sequence.json")), "the client kept its sequence number in the context directory");

			// A second run in the same directory (4 devices over 2 worker threads): new keys, the
			// last run's sequence numbers gone, and the first request is accepted at once.
			const second = await startSim(["--oscore", "--devices", "4", "--workers", "2", "--oscore-dir", dir], 5, /registered 4\/4 with /);
			try {
				const uri2 = (i: number) => "coap://127.0.0.1:" + (second.base + i);
				const creds2 = JSON.parse(readFileSync(file, "utf8")) as Record<string, { oscore: { basedir: string } }>;
				assert.equal(Object.keys(creds2).length, 4);
				assert.ok(!existsSync(join(dir, "sensor-001", "sequence.json")), "no stale sequence number");
				const again = JSON.parse(readFileSync(join(dir, "sensor-001", "settings.json"), "utf8")) as Record<string, string>;
				assert.notEqual(again.secret_hex, settings[0]!.secret_hex, "new keys every run");
				for (const i of [1, 4]) {
					r = await xscoap(["put", uri2(i) + "/actuators/led", "--payload", "1", "--credentials", file]);
					assert.equal(r.code, 0, "device " + i + ": " + r.stderr);
				}
				await liveValues(second.child, ["sensor-001", "sensor-004"], 1);
			} finally {
				assert.equal((await interrupt(second.child)).code, 0, second.child.stderr);
			}
		} finally {
			if (child.running) await interrupt(child);
		}
	});

	it("the observer's notifications are protected: the devices spend sequence numbers of the observer's contexts (a shard in this process)", async () => {
		const keys = fleetOscoreKeys(2, (b) => webcrypto.getRandomValues(b));
		let shard: Shard | undefined;
		let base = 0;
		const values: (number | string)[] = [];
		for (let attempt = 0; shard === undefined; attempt++) {
			base = randomBase(3);
			const s = new Shard({ first: 0, count: 2, total: 2, address: "127.0.0.1", basePort: base, rd: null, lifetime: 60, conditions: null, seed: 1, observe: true, sampleMs: 200, batchMs: 20, oscore: keys }, { registration: () => {}, values: (b) => values.push(...b) });
			try {
				await s.start();
				shard = s;
			} catch (e) {
				if (!(e instanceof ShardStartError) || attempt >= 4) throw e;
			}
		}
		const client = await openEndpoint({ address: "127.0.0.1", limits: { clientExchanges: 4 } });
		try {
			const until = performance.now() + 15000;
			while ((values.filter((v, i) => i % 2 === 0 && v === 0).length < 3 || values.filter((v, i) => i % 2 === 0 && v === 1).length < 3) && performance.now() < until) await new Promise((r) => setTimeout(r, 50));
			assert.ok(values.length >= 12, "values observed: " + values.length / 2);
			// Every notification after the first answer took a Partial IV of the observer's context.
			assert.ok(shard.protectedNotifications() >= 4, "protected notifications: " + shard.protectedNotifications());
			// And the devices are the firmware's: the LED wants OSCORE, the sensors do not.
			const led = await client.request({ uri: "coap://127.0.0.1:" + (base + 1) + "/actuators/led", method: "PUT", payload: "1" });
			assert.equal(led.codeText, "4.01");
			const t = await client.request({ uri: "coap://127.0.0.1:" + (base + 2) + "/sensors/temperature" });
			assert.equal(t.codeText, "2.05");
		} finally {
			client.close();
			await shard.stop(1000);
		}
	});

	it("a directory that cannot take the credentials is one line (exit 2), before anything starts", async () => {
		const file = join(tmp, "a-file");
		writeFileSync(file, "x");
		const busy = join(tmp, "busy");
		mkdirSync(busy);
		writeFileSync(join(busy, "notes.txt"), "someone's");
		const cases: [string[], RegExp][] = [
			[["--oscore-dir", join(file, "sub")], /^error: --oscore-dir .*a-file\/sub: not a directory \(xscoap --help shows the usage\)\n$/],
			[["--oscore", "--oscore-dir", file], /^error: --oscore-dir .*a-file: not a directory/],
			[["--oscore", "--oscore-dir", busy], /^error: --oscore-dir .*busy: not empty, and not a directory xscoap sim wrote \(it would clear it\): give an empty or new directory/],
		];
		if (process.platform === "linux") cases.push([["--oscore-dir", "/proc/xscoap-sim-test"], /^error: --oscore-dir \/proc\/xscoap-sim-test: cannot create it there/]);
		if (process.getuid?.() !== 0) {
			const locked = join(tmp, "locked");
			mkdirSync(locked);
			chmodSync(locked, 0o500);
			cases.push([["--oscore-dir", join(locked, "creds")], /: permission denied/]);
		}
		for (const [args, re] of cases) {
			const r = await xscoap(["sim", "--base-port", String(randomBase(10)), ...args], { timeoutMs: 15000 });
			assert.equal(r.code, 2, args.join(" ") + ": " + r.stderr);
			assert.equal(r.stdout, "", "nothing started");
			assert.match(r.stderr, re);
			assert.equal(r.stderr.split("\n").length, 2, "one line: " + r.stderr);
		}
		assert.equal(readFileSync(join(busy, "notes.txt"), "utf8"), "someone's", "left alone");
	});
});
