/**
 * The `xscoap` command against servers that are not xscoap: libcoap's coap-server-notls
 * (required) and aiocoap's example server (when aiocoap is here): requests with names in the
 * output, pretty link-format, block-wise both ways, separate responses, observations ended by
 * --count, --duration and Ctrl-C, an observation whose server died (exit 4), and a request to
 * the port of a server that is gone (COAP_UNREACHABLE at once).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Child, ROOT, XSCOAP, findAiocoap, freeUdpPort, killAll, requireLibcoap, sleep, waitForCoap, xscoap } from "./helpers.js";

/** Starts `cmd args(port)` on a free port of 127.0.0.1 until `ready` says it is up (a few tries: another process may take the port). */
async function startOnFreePort(cmd: string, args: (port: number) => string[], ready: (c: Child, port: number) => Promise<boolean>): Promise<{ child: Child; port: number }> {
	for (let attempt = 0; attempt < 5; attempt++) {
		const port = await freeUdpPort("127.0.0.1");
		const c = new Child(cmd, args(port));
		try {
			if (await ready(c, port)) return { child: c, port };
		} catch {
			// lost the race for the port, or slow to start: try again
		}
		await c.stop();
	}
	throw new Error("could not start " + cmd);
}

describe("xscoap CLI against other servers", function () {
	this.timeout(60000);

	after(() => killAll());

	describe("libcoap's coap-server-notls", () => {
		let server: Child;
		let base = "";

		before(async () => {
			requireLibcoap();
			const s = await startOnFreePort("coap-server-notls", (p) => ["-A", "127.0.0.1", "-p", String(p), "-d", "16", "-v", "4"], async (c, p) => {
				await waitForCoap("127.0.0.1", p, 5000);
				await sleep(100);
				return c.running && !/already in use|cannot create/i.test(c.stdout + c.stderr);
			});
			server = s.child;
			base = "coap://127.0.0.1:" + s.port;
		});

		after(async () => {
			await server?.stop();
		});

		it("GET /.well-known/core --pretty: one link per line; -v names the code and the Content-Format", async () => {
			const r = await xscoap(["get", base + "/.well-known/core", "--pretty", "-v"]);
			assert.equal(r.code, 0, r.stderr);
			assert.ok(r.stdout.split("\n").length > 2, r.stdout);
			assert.match(r.stdout, /^<\/time>.*,$/m);
			assert.match(r.stderr, /^<- .* ACK 2\.05 Content .*Content-Format:application\/link-format/m);
		});

		it("PUT of 3,000 bytes block-wise to a new resource (2.01 Created), GET it back block-wise, DELETE it", async () => {
			const body = "0123456789abcdef".repeat(190).slice(0, 3000);
			const path = base + "/cli-" + process.pid;
			const put = await xscoap(["put", path, "-e", body, "-b", "256", "-v"]);
			assert.equal(put.code, 0, put.stderr);
			assert.match(put.stderr, /Block1:0\/M\/256/);
			const get = await xscoap(["get", path, "-b", "64", "--raw"]);
			assert.equal(get.code, 0, get.stderr);
			assert.equal(get.stdout, body);
			const del = await xscoap(["delete", path]);
			assert.equal(del.code, 0, del.stderr);
			const gone = await xscoap(["get", path]);
			assert.equal(gone.code, 1);
			assert.match(gone.stderr, /^4\.04 Not Found/m);
		});

		it("observe /time: --count 2 and --duration end it with a deregistration (exit 0)", async () => {
			const count = await xscoap(["get", base + "/time", "--observe", "--count", "2", "-v"]);
			assert.equal(count.code, 0, count.stderr);
			assert.equal(count.stdout.split("\n").filter((l) => l !== "").length, 2, count.stdout);
			assert.match(count.stderr, /^-> .*\[ Observe:1, /m);
			const duration = await xscoap(["get", base + "/time", "--duration", "1.5"]);
			assert.equal(duration.code, 0, duration.stderr);
		});
	});

	describe("aiocoap's example server", () => {
		let server: Child | undefined;
		let base = "";
		let port = 0;

		before(async function () {
			const dir = findAiocoap();
			if (dir === undefined) {
				console.log("      (skipped: no aiocoap checkout with its Python modules here)");
				this.skip();
			}
			const s = await startOnFreePort("python3", (p) => [join(ROOT, "tests/node/fixtures/aiocoap-server.py"), dir!, String(p)], async (c) => {
				await c.waitFor(/^ready$/m, 15000);
				return true;
			});
			server = s.child;
			port = s.port;
			base = "coap://127.0.0.1:" + port;
		});

		after(async () => {
			await server?.stop();
		});

		it("GET / by content negotiation: text, and link-format shown one link per line", async () => {
			const text = await xscoap(["get", base + "/"]);
			assert.equal(text.code, 0, text.stderr);
			assert.equal(text.stdout, "Welcome to the demo server");
			const link = await xscoap(["get", base + "/", "--accept", "link-format", "--pretty"]);
			assert.equal(link.code, 0, link.stderr);
			assert.equal(link.stdout, "</.well-known/core>,\nct=40\n");
			const none = await xscoap(["get", base + "/", "--accept", "json"]);
			assert.equal(none.code, 1);
			assert.match(none.stderr, /^4\.15 Unsupported Content-Format/m);
		});

		it("/other/block: GET block-wise (Block2), PUT block-wise (Block1) and read back", async () => {
			const get = await xscoap(["get", base + "/other/block", "-b", "128", "-v"]);
			assert.equal(get.code, 0, get.stderr);
			assert.match(get.stdout, /^This is the resource's default content/);
			assert.match(get.stderr, /Block2:1\/M\/128/);
			const body = "x".repeat(2000);
			const put = await xscoap(["put", base + "/other/block", "-e", body, "-b", "256", "--raw"]);
			assert.equal(put.code, 0, put.stderr);
			const back = await xscoap(["get", base + "/other/block"]);
			assert.equal(back.stdout, body);
		});

		it("/other/separate: an empty ACK, then the separate response (RFC 7252 §5.2.2)", async () => {
			const r = await xscoap(["get", base + "/other/separate", "-v"]);
			assert.equal(r.code, 0, r.stderr);
			assert.match(r.stdout, /^Three rings/);
			assert.match(r.stderr, /^<- .* ACK Empty mid=/m);
			assert.match(r.stderr, /^<- .* CON 2\.05 Content /m);
		});

		it("observe /time: Ctrl-C deregisters (exit 0); after the server is gone, Ctrl-C ends at once with exit 4; then requests fail with COAP_UNREACHABLE", async () => {
			const live = new Child(process.execPath, [XSCOAP, "get", base + "/time", "--observe"]);
			await live.waitFor(/\n/);
			live.proc.kill("SIGINT");
			assert.equal((await live.exited).code, 0, live.stderr);
			const doomed = new Child(process.execPath, [XSCOAP, "get", base + "/time", "--observe"]);
			await doomed.waitFor(/\n/);
			await server!.stop();
			server = undefined;
			doomed.proc.kill("SIGINT");
			const exit = await doomed.exited;
			assert.equal(exit.code, 4, doomed.stderr);
			assert.match(doomed.stderr, /deregistration got no answer/);
			const r = await xscoap(["get", base + "/time", "--timeout", "60"], { timeoutMs: 20000 });
			assert.equal(r.code, 3, r.stderr);
			assert.match(r.stderr, /^error: COAP_UNREACHABLE: nothing listens on 127\.0\.0\.1:\d+/m);
			assert.match(r.stderr, /^hint: /m);
		});
	});
});
