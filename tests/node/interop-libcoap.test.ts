/**
 * Interoperability with libcoap 4.3 (Debian's libcoap3-bin, no TLS), over real UDP loopback:
 *
 * - `xscoap serve` driven by `coap-client-notls`, CON and NON, over 127.0.0.1 and [::1];
 * - `coap-server-notls` (with dynamic resources, `-d`) driven by xscoap's client, CON and NON.
 *
 * coap-client is run with `-v 6`, which prints every message it sends and receives as
 * `v:1 t:ACK c:2.05 i:1234 {01} [ options ] :: 'payload'` on stdout; the payload itself is
 * written with `-o FILE`. coap-client reports a 4.xx/5.xx code on stderr (its exit status is 0
 * whatever the response, so the code is read from the message lines).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Endpoint } from "../../modules/coap/endpoint.js";
import { CoapError } from "../../modules/coap/errors.js";
import { openEndpoint } from "../../hosts/node/ports.js";
import {
	ACK,
	Child,
	NON,
	freeUdpPort,
	requireLibcoap,
	haveIpv6Loopback,
	killAll,
	run,
	sleep,
	startXscoapServer,
	waitForCoap,
	xscoap,
	type XscoapServer,
} from "./helpers.js";

const CLIENT = "coap-client-notls";
const SERVER = "coap-server-notls";

interface LibcoapMessage {
	type: string;
	code: string;
	mid: number;
	token: string;
	options: string;
	payload: string;
}

interface LibcoapResult {
	sent: LibcoapMessage[];
	/** Messages coap-client received (the response is the last one). */
	received: LibcoapMessage[];
	response: LibcoapMessage | undefined;
	/** Payload as written by `-o`. */
	payload: string;
	stdout: string;
	stderr: string;
}

let tmp = "";
let runs = 0;

/** Runs coap-client-notls with `args` (method, -e, -t, -N ...) on `uri`. */
async function coapClient(args: readonly string[], uri: string): Promise<LibcoapResult> {
	const out = join(tmp, "payload-" + ++runs);
	const r = await run(CLIENT, ["-v", "6", "-B", "5", "-o", out, ...args, uri], { timeoutMs: 15000 });
	assert.ok(!r.timedOut, CLIENT + " did not finish: " + r.stdout + r.stderr);
	const lines = r.stdout.split("\n").filter((l) => l.startsWith("v:1 "));
	const msgs: LibcoapMessage[] = [];
	for (const l of lines) {
		const m = /^v:1 t:(CON|NON|ACK|RST) c:(\S+) i:([0-9a-f]{4}) \{([0-9a-f]*)\} \[ ?(.*?) ?\](?: :: '(.*)')?$/.exec(l);
		assert.ok(m, "unparsed coap-client line: " + l);
		msgs.push({ type: m[1]!, code: m[2]!, mid: parseInt(m[3]!, 16), token: m[4]!, options: m[5]!, payload: m[6] ?? "" });
	}
	// The first line is the request sent; what follows are the messages received.
	const sent = msgs.slice(0, 1);
	const received = msgs.slice(1);
	let payload = "";
	try {
		payload = readFileSync(out, "utf8");
	} catch {
		// no payload: coap-client writes no file
	}
	return { sent, received, response: received[received.length - 1], payload, stdout: r.stdout, stderr: r.stderr };
}

/** Checks the response code and that the response matches the request (type, token, MID). */
function expectResponse(r: LibcoapResult, code: string, confirmable: boolean): LibcoapMessage {
	const res = r.response;
	assert.ok(res, "no response; stdout: " + r.stdout + " stderr: " + r.stderr);
	assert.equal(res.code, code, "response code; stdout: " + r.stdout);
	const req = r.sent[0]!;
	assert.equal(req.type, confirmable ? "CON" : "NON");
	assert.equal(res.token, req.token, "token echoed (RFC 7252 §5.3.2)");
	if (confirmable) {
		// §5.2.1: piggybacked on the ACK of the request.
		assert.equal(res.type, "ACK");
		assert.equal(res.mid, req.mid, "ACK carries the request's MID");
	} else {
		// §5.2.3: a NON request SHOULD get a NON response.
		assert.equal(res.type, "NON");
	}
	return res;
}

describe("interop: libcoap (coap-client-notls / coap-server-notls)", function () {
	this.timeout(30000);

	before(function () {
		requireLibcoap();
		tmp = mkdtempSync(join(tmpdir(), "xscoap-libcoap-"));
	});

	after(() => {
		killAll();
		if (tmp) rmSync(tmp, { recursive: true, force: true });
	});

	for (const family of ["IPv4", "IPv6"] as const) {
		describe("coap-client → xscoap serve over " + (family === "IPv4" ? "127.0.0.1" : "[::1]"), () => {
			let server: XscoapServer | undefined;

			before(async function () {
				if (family === "IPv6" && !(await haveIpv6Loopback())) {
					console.log("      (skipped: this machine has no IPv6 loopback ::1)");
					this.skip();
				}
				server = await startXscoapServer(family === "IPv4" ? "127.0.0.1" : "::1");
			});

			after(async () => {
				await server?.child.stop();
			});

			for (const confirmable of [true, false]) {
				const mode = confirmable ? "CON" : "NON";
				const N = confirmable ? [] : ["-N"];

				it(mode + " GET /hello → 2.05 \"Hello, world!\"", async () => {
					const r = await coapClient([...N], server!.base + "/hello");
					const res = expectResponse(r, "2.05", confirmable);
					assert.match(res.options, /Content-Format:text\/plain/);
					assert.equal(r.payload, "Hello, world!");
				});

				it(mode + " GET /time → 2.05 with the current time (ISO 8601)", async () => {
					const r = await coapClient([...N], server!.base + "/time");
					expectResponse(r, "2.05", confirmable);
					assert.match(r.payload, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
					assert.ok(Math.abs(Date.parse(r.payload) - Date.now()) < 60000, "time " + r.payload + " is not now");
				});

				it(mode + " PUT /echo with -e and -t text/plain → 2.04 with the payload echoed", async () => {
					const text = "put " + mode + " payload";
					const r = await coapClient([...N, "-m", "put", "-e", text, "-t", "text/plain"], server!.base + "/echo");
					const res = expectResponse(r, "2.04", confirmable);
					assert.equal(r.payload, text);
					assert.match(res.options, /Content-Format:text\/plain/);
				});

				it(mode + " POST /echo with -e and -t 50 (JSON, as a number) → 2.04 echoed with Content-Format 50", async () => {
					const text = '{"mode":"' + mode + '","n":1}';
					const r = await coapClient([...N, "-m", "post", "-e", text, "-t", "50"], server!.base + "/echo");
					const res = expectResponse(r, "2.04", confirmable);
					assert.equal(r.payload, text);
					assert.match(res.options, /Content-Format:application\/json/);
				});

				it(mode + " POST /counter increments (2.04 with the new value)", async () => {
					const a = await coapClient([...N, "-m", "post"], server!.base + "/counter");
					expectResponse(a, "2.04", confirmable);
					const b = await coapClient([...N, "-m", "post"], server!.base + "/counter");
					expectResponse(b, "2.04", confirmable);
					assert.match(a.payload, /^\d+$/);
					assert.equal(Number(b.payload), Number(a.payload) + 1);
					const g = await coapClient([...N], server!.base + "/counter");
					expectResponse(g, "2.05", confirmable);
					assert.equal(Number(g.payload), Number(b.payload));
				});

				it(mode + " DELETE /hello (no delete handler) → 4.05 Method Not Allowed", async () => {
					const r = await coapClient([...N, "-m", "delete"], server!.base + "/hello");
					expectResponse(r, "4.05", confirmable);
					// coap-client reports error codes on stderr.
					assert.match(r.stderr, /4\.05/);
				});

				it(mode + " GET /nothing → 4.04", async () => {
					const r = await coapClient([...N], server!.base + "/nothing");
					expectResponse(r, "4.04", confirmable);
				});

				it(mode + " GET /.well-known/core → 2.05 link-format listing </hello>", async () => {
					const r = await coapClient([...N], server!.base + "/.well-known/core");
					const res = expectResponse(r, "2.05", confirmable);
					assert.match(res.options, /Content-Format:application\/link-format/);
					assert.ok(r.payload.includes("</hello>"), r.payload);
					assert.ok(r.payload.includes('</time>;rt="xscoap.time"'), r.payload);
					for (const path of ["/echo", "/counter"]) assert.ok(r.payload.includes("<" + path + ">"), r.payload);
				});

				it(mode + " GET /.well-known/core?rt=xscoap.time → only </time> (RFC 6690 §4.1 filtering)", async () => {
					const r = await coapClient([...N], server!.base + "/.well-known/core?rt=xscoap.time");
					expectResponse(r, "2.05", confirmable);
					assert.ok(r.payload.startsWith("</time>"), r.payload);
					assert.ok(!r.payload.includes("</hello>"), r.payload);
					assert.equal(r.payload.split("</").length - 1, 1, "one link only: " + r.payload);
				});

				it(mode + " GET /.well-known/core?rt=xscoap.* → prefix match lists all four", async () => {
					const r = await coapClient([...N], server!.base + "/.well-known/core?rt=xscoap.*");
					expectResponse(r, "2.05", confirmable);
					for (const path of ["/hello", "/time", "/echo", "/counter"]) assert.ok(r.payload.includes("<" + path + ">"), r.payload);
				});
			}

			it("the server is still running after all of the above", () => {
				assert.ok(server!.child.running, "xscoap serve exited: " + server!.child.stderr);
			});
		});
	}

	describe("xscoap client → coap-server-notls", () => {
		let server: Child | undefined;
		let port = 0;
		let ep: Endpoint | undefined;

		before(async function () {
			// -A: bind address; -p: port; -d 16: allow up to 16 resources created by PUT.
			// The port is picked free just before; if another process took it, try another.
			for (let attempt = 0; attempt < 5 && server === undefined; attempt++) {
				port = await freeUdpPort("127.0.0.1");
				const c = new Child(SERVER, ["-A", "127.0.0.1", "-p", String(port), "-d", "16", "-v", "4"]);
				try {
					await waitForCoap("127.0.0.1", port, 5000);
					// libcoap keeps running when a bind fails (it sets SO_REUSEADDR on UDP, and also
					// binds TCP on the port): treat "Address already in use" as a lost race too.
					await sleep(100);
					if (c.running && !/already in use|cannot create/i.test(c.stdout + c.stderr)) server = c;
					else await c.stop();
				} catch {
					await c.stop();
				}
			}
			if (server === undefined) throw new Error("could not start " + SERVER);
			ep = await openEndpoint({ address: "127.0.0.1" });
		});

		after(async () => {
			ep?.close();
			await server?.stop();
		});

		const uri = (path: string) => "coap://127.0.0.1:" + port + path;

		for (const confirmable of [true, false]) {
			const mode = confirmable ? "CON" : "NON";
			const responseType = confirmable ? ACK : NON;

			it(mode + " GET /.well-known/core → 2.05 application/link-format with </time>", async () => {
				const res = await ep!.request({ method: "GET", uri: uri("/.well-known/core"), confirmable });
				assert.equal(res.codeText, "2.05");
				assert.equal(res.type, responseType);
				assert.equal(res.contentFormat, 40);
				assert.ok(res.text().includes("</time>"), res.text());
			});

			it(mode + " GET /time → 2.05 with a time text and Max-Age", async () => {
				const res = await ep!.request({ method: "GET", uri: uri("/time"), confirmable });
				assert.equal(res.codeText, "2.05");
				assert.equal(res.type, responseType);
				assert.ok(res.payload.length > 0, "empty /time");
				assert.equal(res.maxAge, 1, "libcoap's /time says Max-Age 1 (its example server, coap-server.c)");
			});

			it(mode + " PUT creates (2.01), GET reads, PUT again changes (2.04), DELETE removes (2.02), then GET → 4.04", async () => {
				const path = "/xscoap-" + mode.toLowerCase() + "-" + process.pid;
				let res = await ep!.request({ method: "PUT", uri: uri(path), payload: "first " + mode, contentFormat: 0, confirmable });
				assert.equal(res.codeText, "2.01");
				assert.equal(res.type, responseType);
				res = await ep!.request({ method: "GET", uri: uri(path), confirmable });
				assert.equal(res.codeText, "2.05");
				assert.equal(res.text(), "first " + mode);
				res = await ep!.request({ method: "PUT", uri: uri(path), payload: "second " + mode, confirmable });
				assert.equal(res.codeText, "2.04");
				res = await ep!.request({ method: "GET", uri: uri(path), confirmable });
				assert.equal(res.text(), "second " + mode);
				res = await ep!.request({ method: "DELETE", uri: uri(path), confirmable });
				assert.equal(res.codeText, "2.02");
				res = await ep!.request({ method: "GET", uri: uri(path), confirmable });
				assert.equal(res.codeText, "4.04");
				assert.equal(res.ok, false);
			});
		}

		it("a request with an unknown critical option: libcoap's 4.02 echoes the option, so the ACK is rejected (RFC 7252 §5.4.1)", async () => {
			// libcoap 4.3 answers ACK 4.02 "Bad Option" but copies the unknown critical option 2049
			// into that response. §5.4.1: an unrecognised critical option piggybacked in an ACK MUST
			// cause the response to be rejected, i.e. silently ignored (§4.2); the request times out.
			// (coap-client-notls itself behaves the same way: it reports "timeout".)
			await assert.rejects(
				ep!.request({ method: "GET", uri: uri("/time"), options: [[2049, "x"]], timeoutMs: 2500 }),
				(e: unknown) => e instanceof CoapError && e.code === "COAP_TIMEOUT",
			);
		});

		it("xscoap CLI: get --non and put/get/delete of a dynamic resource", async () => {
			let r = await xscoap(["get", uri("/time"), "--non", "--timeout", "5"]);
			assert.equal(r.code, 0, r.stderr);
			assert.ok(r.stdout.length > 0);
			r = await xscoap(["put", uri("/cli-" + process.pid), "--payload", "from the CLI", "--timeout", "5"]);
			assert.equal(r.code, 0, r.stderr);
			r = await xscoap(["get", uri("/cli-" + process.pid), "--timeout", "5"]);
			assert.equal(r.code, 0, r.stderr);
			assert.equal(r.stdout, "from the CLI");
			r = await xscoap(["delete", uri("/cli-" + process.pid), "--timeout", "5"]);
			assert.equal(r.code, 0, r.stderr);
			r = await xscoap(["get", uri("/cli-" + process.pid), "--timeout", "5"]);
			assert.equal(r.code, 1);
			assert.match(r.stderr, /^4\.04 Not Found/m);
		});

		it("a request to a closed port on the same host fails at once with COAP_UNREACHABLE (the ICMP error, no crash)", async () => {
			const closed = await freeUdpPort("127.0.0.1");
			// A 60 s timeout: a rejection within the test's timeout can only come from the ICMP error.
			await assert.rejects(
				ep!.request({ method: "GET", uri: "coap://127.0.0.1:" + closed + "/time", confirmable: false, timeoutMs: 60000 }),
				(e: unknown) => e instanceof CoapError && e.code === "COAP_UNREACHABLE",
			);
		});
	});

	describe("xscoap client → coap-server-notls over [::1]", () => {
		let server: Child | undefined;
		let port = 0;

		before(async function () {
			if (!(await haveIpv6Loopback())) {
				console.log("      (skipped: this machine has no IPv6 loopback ::1)");
				this.skip();
			}
			for (let attempt = 0; attempt < 5 && server === undefined; attempt++) {
				port = await freeUdpPort("::1");
				const c = new Child(SERVER, ["-A", "::1", "-p", String(port), "-v", "4"]);
				try {
					await waitForCoap("::1", port, 5000);
					// libcoap keeps running when a bind fails (it sets SO_REUSEADDR on UDP, and also
					// binds TCP on the port): treat "Address already in use" as a lost race too.
					await sleep(100);
					if (c.running && !/already in use|cannot create/i.test(c.stdout + c.stderr)) server = c;
					else await c.stop();
				} catch {
					await c.stop();
				}
			}
			if (server === undefined) throw new Error("could not start " + SERVER + " on ::1");
		});

		after(async () => {
			await server?.stop();
		});

		for (const confirmable of [true, false]) {
			it((confirmable ? "CON" : "NON") + " GET /time and /.well-known/core", async () => {
				const ep = await openEndpoint({ address: "::1" });
				try {
					const base = "coap://[::1]:" + port;
					const t = await ep.request({ uri: base + "/time", confirmable });
					assert.equal(t.codeText, "2.05");
					assert.equal(t.address, "::1");
					const wk = await ep.request({ uri: base + "/.well-known/core", confirmable });
					assert.equal(wk.codeText, "2.05");
					assert.ok(wk.text().includes("</time>"));
				} finally {
					ep.close();
				}
			});
		}
	});
});
