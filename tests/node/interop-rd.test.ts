/**
 * Resource-directory interoperability: xscoap's simulated devices (`xscoap sim --rd URI`,
 * each the sensor example with its RD module) register with libcoap's resource directory
 * (`coap-rd-notls`, Debian libcoap3-bin), and libcoap's client reads what they registered.
 * (`tests/node/rd.test.ts` has the other direction: libcoap's client against `xscoap rd`.)
 *
 * libcoap's coap-rd (4.3.1 here) implements registration and GET on the registration
 * resource, answers 4.05 to the RFC 9176 §5.3.1 update (the devices then register again) and
 * ends with "double free detected" on any DELETE (seen with its own coap-client too), so the
 * removal at Ctrl-C goes unanswered; the fleet must stop cleanly all the same.
 */
import assert from "node:assert/strict";
import { parseLinkFormat } from "../../modules/coap/rd/links.js";
import { Child, XSCOAP, freeUdpPort, killAll, requireLibcoap, run, waitForCoap } from "./helpers.js";

describe("interop: xscoap devices with libcoap's resource directory (coap-rd-notls)", function () {
	this.timeout(60000);

	before(() => {
		requireLibcoap();
		const missing = run("sh", ["-c", "command -v coap-rd-notls"]);
		return missing.then((r) => {
			if (r.code !== 0) throw new Error("coap-rd-notls not found: apt-get install -y libcoap3-bin");
		});
	});

	after(() => killAll());

	it("xscoap sim --rd: every device discovers libcoap's /rd, registers its links, and libcoap serves them back; Ctrl-C still ends the fleet cleanly", async () => {
		const rdPort = await freeUdpPort();
		const rd = new Child("coap-rd-notls", ["-A", "127.0.0.1", "-p", String(rdPort), "-v", "0"]);
		try {
			await waitForCoap("127.0.0.1", rdPort);
			const rdUri = "coap://127.0.0.1:" + rdPort;
			let sim: Child | undefined;
			for (let attempt = 0; attempt < 5 && sim === undefined; attempt++) {
				const base = 20000 + Math.floor(Math.random() * 40000);
				const c = new Child(process.execPath, [XSCOAP, "sim", "--devices", "3", "--rd", rdUri, "--base-port", String(base)]);
				try {
					await c.waitFor(/registered 3\/3 with /, 20000);
					sim = c;
				} catch (e) {
					await c.stop();
					if (!/in use/.test(c.stderr)) throw e;
				}
			}
			assert.ok(sim !== undefined, "the fleet started");
			// Each device printed where libcoap put its registration.
			const regs = [...sim.stdout.matchAll(/^(sensor-\d+) registered at (\/rd\/\S+)$/gm)];
			assert.equal(regs.length, 3, sim.stdout);
			const bases = new Map([...sim.stdout.matchAll(/^ {2}(sensor-\d+) {2}(coap:\/\/\S+)/gm)].map((m) => [m[1]!, m[2]!]));
			for (const [, name, location] of regs) {
				// libcoap's client reads each registration from libcoap's directory.
				const got = await run("coap-client-notls", ["-m", "get", rdUri + location]);
				assert.equal(got.code, 0, got.stderr);
				const links = parseLinkFormat(got.stdout.trim());
				assert.ok(Array.isArray(links), "link-format from libcoap: " + got.stdout);
				assert.deepEqual(
					links.map((l) => l.href),
					["/sensors/temperature", "/sensors/humidity", "/actuators/led", "/device", "/device/note"],
					name!,
				);
				// And reads the device itself at the address the directory learnt.
				const temp = await run("coap-client-notls", ["-m", "get", bases.get(name!)! + "/sensors/temperature"]);
				assert.match(temp.stdout.trim(), /^\d+\.\d\d$/);
			}
			const t0 = performance.now();
			sim.proc.kill("SIGINT");
			const exited = await sim.exited;
			assert.equal(exited.code, 0, sim.stderr);
			assert.ok(performance.now() - t0 < 8000, "stopped in " + (performance.now() - t0) + " ms");
			assert.match(sim.stdout, /stopped: 3 devices, \d deregistered/);
		} finally {
			await rd.stop();
		}
	});
});
