/**
 * The `xscoap` executable end to end: `node bin/xscoap.js ...` as a child process, against
 * `xscoap serve` on loopback. Exit statuses (hosts/node/cli.ts): 0 for 2.xx, 1 for another
 * response code (printed on stderr), 2 for a usage error, 3 when no response came.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMMANDS, registryProblems } from "../../hosts/node/cli/registry.js";
import { Child, ROOT, RawPeer, XSCOAP, run, freeUdpPort, haveIpv6Loopback, header, killAll, startXscoapServer, xscoap, type RunResult, type XscoapServer } from "./helpers.js";

/** Asserts a usage error: exit 2, nothing on stdout, and stderr starting with one "error: ..." line. */
function assertUsageError(r: RunResult, pattern: RegExp): void {
	assert.equal(r.code, 2, "exit status; stderr: " + r.stderr);
	assert.equal(r.stdout, "");
	const first = r.stderr.split("\n")[0]!;
	assert.match(first, /^error: \S/);
	assert.match(first, pattern);
}

describe("xscoap CLI (bin/xscoap.js)", function () {
	this.timeout(20000);
	let server: XscoapServer;
	let tmp = "";
	let base = "";

	before(async () => {
		tmp = mkdtempSync(join(tmpdir(), "xscoap-cli-"));
		server = await startXscoapServer("127.0.0.1");
		base = server.base;
	});

	after(async () => {
		await server?.child.stop();
		killAll();
		if (tmp) rmSync(tmp, { recursive: true, force: true });
	});

	describe("requests", () => {
		it("get /hello prints the payload unchanged on stdout and exits 0", async () => {
			const r = await xscoap(["get", base + "/hello"]);
			assert.equal(r.code, 0, r.stderr);
			assert.equal(r.stdout, "Hello, world!", "in a pipe the payload's bytes are passed on unchanged");
			assert.equal(r.stderr, "");
		});

		it("get /time prints an ISO 8601 time", async () => {
			const r = await xscoap(["get", base + "/time"]);
			assert.equal(r.code, 0, r.stderr);
			assert.match(r.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
		});

		it("a reader that goes away (`| head -3`) ends the command quietly with status 0, no EPIPE stack trace", async () => {
			const file = join(tmp, "random.bin");
			writeFileSync(file, Buffer.from(Array.from({ length: 20000 }, (_, i) => (i * 7919) & 0xff)));
			// --pretty on a pipe: a hex dump of about 86 KB, far more than a pipe holds.
			const q = (a: string): string => "'" + a.replace(/'/g, "'\\''") + "'";
			const line = [process.execPath, XSCOAP, "post", base + "/echo", "-f", file, "-t", "octet-stream", "--pretty"].map(q).join(" ");
			const r = await run("bash", ["-c", line + " | head -3 > /dev/null; exit ${PIPESTATUS[0]}"]);
			assert.equal(r.stderr, "");
			assert.equal(r.code, 0);
		});

		it("post /echo --payload TEXT echoes it", async () => {
			const r = await xscoap(["post", base + "/echo", "--payload", "posted text"]);
			assert.equal(r.code, 0, r.stderr);
			assert.equal(r.stdout, "posted text");
		});

		it("put /echo --payload-file FILE sends the file's exact bytes (binary)", async () => {
			const bytes = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7 + 3) & 0xff));
			const file = join(tmp, "payload.bin");
			writeFileSync(file, bytes);
			const r = await xscoap(["put", base + "/echo", "--payload-file", file, "--content-format", "application/octet-stream"]);
			assert.equal(r.code, 0, r.stderr);
			assert.deepEqual(r.stdoutBytes, bytes);
		});

		it("--payload-file - reads the payload from stdin", async () => {
			const r = await xscoap(["post", base + "/echo", "--payload-file", "-"], { input: "from stdin\n" });
			assert.equal(r.code, 0, r.stderr);
			assert.equal(r.stdout, "from stdin\n");
		});

		it("--payload=TEXT (with =) works like --payload TEXT", async () => {
			const r = await xscoap(["post", base + "/echo", "--payload=a=b c"]);
			assert.equal(r.code, 0, r.stderr);
			assert.equal(r.stdout, "a=b c");
		});

		it("post /counter increments across invocations", async () => {
			const a = await xscoap(["post", base + "/counter"]);
			const b = await xscoap(["post", base + "/counter"]);
			assert.equal(a.code, 0, a.stderr);
			assert.equal(Number(b.stdout), Number(a.stdout) + 1);
			const g = await xscoap(["get", base + "/counter"]);
			assert.equal(g.stdout, b.stdout);
		});

		for (const [given, name] of [
			["50", "application/json"],
			["json", "application/json"],
			["application/json", "application/json"],
			["0", "text/plain;charset=utf-8"],
			["text/plain", "text/plain;charset=utf-8"],
			["text/plain; charset=utf-8", "text/plain;charset=utf-8"],
			["60", "application/cbor"],
			["cbor", "application/cbor"],
			["65000", "65000"],
		] as const) {
			it("--content-format " + given + " is sent as Content-Format " + name + " (echoed back, shown by name with -v)", async () => {
				const r = await xscoap(["post", base + "/echo", "--payload", "{}", "--content-format", given, "-v", "--raw"]);
				assert.equal(r.code, 0, r.stderr);
				assert.equal(r.stdout, "{}");
				const cf = name.replace(/[.+]/g, "\\$&");
				assert.match(r.stderr, new RegExp("^-> .* CON POST .*Content-Format:" + cf + "[, ]", "m"));
				assert.match(r.stderr, new RegExp("^<- .* ACK 2\\.04 Changed .*Content-Format:" + cf + "[, ]", "m"));
			});
		}

		for (const given of ["0", "text/plain", "TEXT/PLAIN", "text/plain;charset=utf-8", "text/plain; charset=\"utf-8\"", "text"]) {
			it("--accept " + given + " on /hello (text/plain) → 2.05, Accept:text/plain;charset=utf-8 sent", async () => {
				const r = await xscoap(["get", base + "/hello", "--accept", given, "-v"]);
				assert.equal(r.code, 0, r.stderr);
				assert.equal(r.stdout, "Hello, world!");
				assert.match(r.stderr, /^-> .*Accept:text\/plain;charset=utf-8( |,|$)/m);
			});
		}

		for (const given of ["50", "json"]) {
			it("--accept " + given + " on /hello → 4.06 Not Acceptable, exit 1", async () => {
				const r = await xscoap(["get", base + "/hello", "--accept", given]);
				assert.equal(r.code, 1);
				assert.match(r.stderr, /^4\.06 Not Acceptable$/m);
			});
		}

		it("options before the URI, after it, and before the command all work", async () => {
			for (const args of [
				["post", "--payload", "x1", "--non", base + "/echo"],
				["post", base + "/echo", "--payload", "x1", "--non"],
				["--non", "--payload", "x1", "post", base + "/echo"],
				["--payload", "x1", "post", "--non", base + "/echo", "--timeout", "5"],
			]) {
				const r = await xscoap(args);
				assert.equal(r.code, 0, args.join(" ") + ": " + r.stderr);
				assert.equal(r.stdout, "x1", args.join(" "));
			}
		});

		it("the method name is case-insensitive (GET)", async () => {
			const r = await xscoap(["GET", base + "/hello"]);
			assert.equal(r.code, 0, r.stderr);
			assert.equal(r.stdout, "Hello, world!");
		});

		it("--non sends a NON request and gets a NON response", async () => {
			const r = await xscoap(["get", base + "/hello", "--non", "-v"]);
			assert.equal(r.code, 0, r.stderr);
			assert.equal(r.stdout, "Hello, world!");
			assert.match(r.stderr, /^-> 127\.0\.0\.1:\d+ NON GET /m);
			assert.match(r.stderr, /^<- 127\.0\.0\.1:\d+ NON 2\.05 /m);
		});

		it("-v prints the request (->) and the response (<-) on stderr, payload only on stdout", async () => {
			const r = await xscoap(["-v", "put", base + "/echo", "--payload", "verbose", "--content-format", "0"]);
			assert.equal(r.code, 0, r.stderr);
			assert.equal(r.stdout, "verbose");
			const lines = r.stderr.split("\n");
			const out = lines.filter((l) => l.startsWith("-> "));
			const inn = lines.filter((l) => l.startsWith("<- "));
			assert.equal(out.length, 1, r.stderr);
			assert.equal(inn.length, 1, r.stderr);
			assert.match(out[0]!, new RegExp("^-> 127\\.0\\.0\\.1:" + server.port + ' CON PUT mid=0x[0-9a-f]{4} token=[0-9a-f]+ \\[ Uri-Path:"echo", Content-Format:text/plain;charset=utf-8 \\] :: 7 bytes "verbose"$'));
			assert.match(inn[0]!, new RegExp("^<- 127\\.0\\.0\\.1:" + server.port + ' ACK 2\\.04 Changed mid=0x[0-9a-f]{4} token=[0-9a-f]+ .*:: 7 bytes "verbose"$'));
			// The ACK carries the request's MID and token (piggybacked, RFC 7252 §5.2.1).
			const mid = (l: string) => /mid=(0x[0-9a-f]+) token=([0-9a-f]+)/.exec(l)!.slice(1).join(" ");
			assert.equal(mid(inn[0]!), mid(out[0]!));
			// --verbose is the same flag.
			const v2 = await xscoap(["get", base + "/hello", "--verbose"]);
			assert.match(v2.stderr, /^-> /m);
			assert.match(v2.stderr, /^<- /m);
		});

		it("--accept link-format (and application/link-format) on /.well-known/core", async () => {
			for (const cf of ["link-format", "application/link-format", "40"]) {
				const r = await xscoap(["get", base + "/.well-known/core", "--accept", cf, "-v"]);
				assert.equal(r.code, 0, r.stderr);
				assert.match(r.stderr, /^-> .*Accept:application\/link-format/m);
			}
		});

		it("get /.well-known/core and ?rt=xscoap.time (Uri-Query from the URI) print link-format", async () => {
			const all = await xscoap(["get", base + "/.well-known/core"]);
			assert.equal(all.code, 0, all.stderr);
			for (const p of ["/hello", "/time", "/echo", "/counter"]) assert.ok(all.stdout.includes("<" + p + ">"), all.stdout);
			const one = await xscoap(["get", base + "/.well-known/core?rt=xscoap.time", "-v"]);
			assert.equal(one.code, 0, one.stderr);
			assert.ok(one.stdout.startsWith('</time>;rt="xscoap.time"'), one.stdout);
			assert.equal(one.stdout.split("</").length - 1, 1, one.stdout);
			assert.match(one.stderr, /^-> .*Uri-Path:"\.well-known", Uri-Path:"core", Uri-Query:"rt=xscoap\.time"/m);
			assert.match(one.stderr, /^<- .* ACK 2\.05 Content .*Content-Format:application\/link-format/m);
		});

		it("a 4.04 exits 1 with the code and its name on stderr", async () => {
			const r = await xscoap(["get", base + "/does-not-exist"]);
			assert.equal(r.code, 1);
			assert.equal(r.stdout, "");
			assert.equal(r.stderr, "4.04 Not Found\n");
			const q = await xscoap(["get", base + "/does-not-exist", "-q"]);
			assert.equal(q.code, 1);
			assert.equal(q.stderr, "", "-q: nothing on stderr");
		});

		it("delete on a resource without a delete handler exits 1 with 4.05", async () => {
			const r = await xscoap(["delete", base + "/hello"]);
			assert.equal(r.code, 1);
			assert.match(r.stderr, /^4\.05 Method Not Allowed$/m);
		});

		it("fetch / patch / ipatch are sent (the demo resources answer 4.05)", async () => {
			for (const m of ["fetch", "patch", "ipatch"]) {
				const r = await xscoap([m, base + "/echo", "--payload", "x", "-v"]);
				assert.equal(r.code, 1, m + ": " + r.stderr);
				assert.match(r.stderr, new RegExp("^-> .* CON " + m.toUpperCase() + " ", "m"));
				assert.match(r.stderr, /^4\.05 Method Not Allowed$/m);
			}
		});

		it("an IPv6 literal URI coap://[::1]:port/ (skipped without ::1)", async function () {
			if (!(await haveIpv6Loopback())) {
				console.log("      (skipped: this machine has no IPv6 loopback ::1)");
				this.skip();
			}
			const v6 = await startXscoapServer("::1");
			try {
				const r = await xscoap(["get", "coap://[::1]:" + v6.port + "/hello", "-v"]);
				assert.equal(r.code, 0, r.stderr);
				assert.equal(r.stdout, "Hello, world!");
				assert.match(r.stderr, new RegExp("^-> \\[::1\\]:" + v6.port + " CON GET", "m"));
			} finally {
				await v6.child.stop();
			}
		});

		it("a host name: get coap://localhost:port/hello resolves (127.0.0.1 or ::1) and sends Uri-Host", async () => {
			// A dual-stack server ([::]) answers whichever address localhost resolves to.
			const any = (await haveIpv6Loopback()) ? await startXscoapServer("::") : await startXscoapServer("127.0.0.1");
			try {
				const r = await xscoap(["get", "coap://localhost:" + any.port + "/hello", "-v"]);
				assert.equal(r.code, 0, r.stderr);
				assert.equal(r.stdout, "Hello, world!");
				assert.match(r.stderr, new RegExp("^-> (127\\.0\\.0\\.1|\\[::1\\]):" + any.port + ' CON GET .*Uri-Host:"localhost"', "m"));
			} finally {
				await any.child.stop();
			}
		});

		it("a host name that does not resolve exits 3 with a message", async () => {
			const r = await xscoap(["get", "coap://no-such-host.invalid/hello", "--timeout", "2"]);
			assert.equal(r.code, 3);
			assert.match(r.stderr, /cannot resolve host no-such-host\.invalid/);
		});
	});

	describe("usage errors exit 2 with an error line", () => {
		const cases: [string, string[], RegExp][] = [
			["an unknown option", ["get", "coap://127.0.0.1/hello", "--bogus"], /unknown option --bogus/],
			["an unknown short option", ["get", "-x", "coap://127.0.0.1/hello"], /unknown option -x/],
			["a missing URI", ["get"], /exactly one URI/],
			["two URIs", ["get", "coap://127.0.0.1/a", "coap://127.0.0.1/b"], /exactly one URI/],
			["a coaps:// URI", ["get", "coaps://127.0.0.1/hello"], /coaps/],
			["an http:// URI", ["get", "http://127.0.0.1/hello"], /http/],
			["a relative URI", ["get", "/hello"], /coap:\/\//],
			["a URI with a fragment", ["get", "coap://127.0.0.1/hello#frag"], /fragment/],
			["a bad --content-format name", ["post", "coap://127.0.0.1/echo", "--payload", "x", "--content-format", "text/nonsense"], /content format "text\/nonsense"/],
			["a --content-format above 65535", ["post", "coap://127.0.0.1/echo", "--content-format", "70000"], /0\.\.65535/],
			["a bad --accept", ["get", "coap://127.0.0.1/hello", "--accept", "nope"], /--accept/],
			["a flag without its value", ["get", "coap://127.0.0.1/hello", "--payload"], /--payload needs a value/],
			["--timeout 0", ["get", "coap://127.0.0.1/hello", "--timeout", "0"], /--timeout/],
			["--timeout abc", ["get", "coap://127.0.0.1/hello", "--timeout", "abc"], /--timeout/],
			["both --payload and --payload-file", ["post", "coap://127.0.0.1/echo", "--payload", "x", "--payload-file", "/dev/null"], /not both/],
			["an unknown command", ["frobnicate", "coap://127.0.0.1/"], /unknown command frobnicate/],
			["no command", [], /missing command/],
			["serve with a non-numeric --bind host", ["serve", "--bind", "example.org:5683"], /numeric address/],
			["serve with an extra argument", ["serve", "extra"], /serve takes no arguments/],
		];
		for (const [what, args, pattern] of cases) {
			it(what + ": " + (args.join(" ") || "(no arguments)"), async () => {
				assertUsageError(await xscoap(args, { timeoutMs: 10000 }), pattern);
			});
		}

		it("-h / --help / help print the usage on stdout and exit 0", async () => {
			for (const a of [["-h"], ["--help"], ["help"]]) {
				const r = await xscoap(a);
				assert.equal(r.code, 0, a.join(" "));
				assert.match(r.stdout, /^usage: xscoap COMMAND/);
				assert.match(r.stdout, /xscoap serve/);
				assert.match(r.stdout, /^exit status:$/m);
			}
		});
	});

	describe("help and the command registry", () => {
		it("every command's --help lists its options and the exit statuses; request commands list the content formats", async () => {
			for (const c of COMMANDS) {
				const r = await xscoap([c.names[0]!, "--help"]);
				assert.equal(r.code, 0, c.names[0] + ": " + r.stderr);
				assert.match(r.stdout, new RegExp("^usage: xscoap " + c.names.join("\\|")));
				for (const o of c.options) assert.ok(r.stdout.includes(o.names.join(", ")), c.names[0] + " --help lacks " + o.names[0]);
				assert.match(r.stdout, /^exit status:$/m);
			}
			const get = await xscoap(["get", "--help"]);
			assert.match(get.stdout, /^ +40 {2}application\/link-format$/m);
			assert.match(get.stdout, /^ +0 {2}text\/plain; charset=utf-8$/m);
			assert.equal((await xscoap(["help", "serve"])).stdout, (await xscoap(["serve", "-h"])).stdout);
		});

		it("--version prints the package's version", async () => {
			const r = await xscoap(["--version"]);
			assert.equal(r.code, 0);
			assert.equal(r.stdout, "xscoap " + JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version + "\n");
		});

		it("the registry names each command once and gives every option one arity", () => {
			assert.deepEqual(registryProblems(), []);
			const clash = registryProblems([
				{ names: ["a"], synopsis: "", summary: "", options: [{ names: ["--x"], help: "" }], run: async () => 0 },
				{ names: ["b", "a"], synopsis: "", summary: "", options: [{ names: ["--x"], value: "V", help: "" }], run: async () => 0 },
			]);
			assert.equal(clash.length, 2, clash.join("; "));
		});
	});

	describe("no response: exit 3", () => {
		it("a port where nothing listens: exit 3 with COAP_UNREACHABLE and a hint, long before --timeout (CON and NON, IPv4 and IPv6)", async () => {
			const targets = ["127.0.0.1"];
			if (await haveIpv6Loopback()) targets.push("::1");
			for (const host of targets) {
				const port = await freeUdpPort(host);
				for (const extra of [[], ["--non"]]) {
					// --timeout 60: an answer within the test's 20 s can only come from the ICMP error.
					const uri = "coap://" + (host.indexOf(":") >= 0 ? "[" + host + "]" : host) + ":" + port + "/hello";
					const r = await xscoap(["get", uri, "--timeout", "60", ...extra], { timeoutMs: 20000 });
					assert.ok(!r.timedOut, "xscoap waited for the timeout");
					assert.equal(r.code, 3, r.stderr);
					assert.equal(r.stdout, "");
					assert.match(r.stderr, /^error: COAP_UNREACHABLE: nothing listens on .*:\d+ \(ICMP port unreachable\)$/m);
					assert.match(r.stderr, new RegExp("^hint: .*UDP port " + port + ": is the CoAP server running", "m"));
				}
			}
		});

		it("an unreadable --payload-file: exit 3 (not a usage error), nothing sent", async () => {
			const r = await xscoap(["post", base + "/echo", "--payload-file", "/nonexistent/xscoap/file"]);
			assert.equal(r.code, 3, r.stderr);
			assert.match(r.stderr, /^error: cannot read \/nonexistent\/xscoap\/file: .*ENOENT/m);
		});

		it("--timeout 1 against a silent UDP socket (receives, never answers) → exit 3", async () => {
			const silent = await RawPeer.open("udp4");
			try {
				const r = await xscoap(["get", "coap://127.0.0.1:" + silent.port + "/hello", "--timeout", "1"], { timeoutMs: 15000 });
				assert.ok(!r.timedOut, "xscoap did not give up");
				assert.equal(r.code, 3, r.stderr);
				assert.match(r.stderr, /COAP_TIMEOUT/);
				assert.ok(r.ms < 8000, "took " + Math.round(r.ms) + " ms");
				assert.ok(silent.received.length >= 1, "the request never arrived");
				const h = header(silent.received[0]!.bytes);
				assert.equal(h.type, 0, "a CON request");
				assert.equal(h.code, "0.01", "a GET");
			} finally {
				silent.close();
			}
		});

		it("--timeout 4.5 (fractional seconds) against a silent socket: CON retransmitted within the window, exit 3", async () => {
			const silent = await RawPeer.open("udp4");
			try {
				const r = await xscoap(["get", "coap://127.0.0.1:" + silent.port + "/hello", "--timeout", "4.5"], { timeoutMs: 15000 });
				assert.equal(r.code, 3, r.stderr);
				// ACK_TIMEOUT is 2..3 s (RFC 7252 §4.8): one retransmission before 4.5 s, same MID.
				assert.ok(silent.received.length >= 2, "expected a retransmission, got " + silent.received.length + " datagram(s)");
				assert.equal(header(silent.received[1]!.bytes).mid, header(silent.received[0]!.bytes).mid);
				assert.deepEqual(silent.received[1]!.bytes, silent.received[0]!.bytes);
			} finally {
				silent.close();
			}
		});
	});

	describe("serve", () => {
		it("prints where it listens (--bind HOST:PORT with a free port) and stops with status 0 on SIGTERM", async () => {
			let started: XscoapServer | undefined;
			for (let attempt = 0; attempt < 5 && started === undefined; attempt++) {
				const port = await freeUdpPort("127.0.0.1");
				try {
					started = await startXscoapServer("127.0.0.1", port);
					assert.equal(started.port, port);
				} catch {
					// the port was taken in between: try another
				}
			}
			assert.ok(started, "could not start xscoap serve");
			assert.match(started.child.stdout, new RegExp("^xscoap demo server listening on coap://127\\.0\\.0\\.1:" + started.port + "/ \\(resources: "));
			const r = await xscoap(["get", "coap://127.0.0.1:" + started.port + "/hello"]);
			assert.equal(r.stdout, "Hello, world!");
			const exit = await started.child.stop();
			assert.equal(exit.code, 0, "exit status after SIGTERM; signal " + exit.signal);
		});

		it("--bind PORT alone listens on all interfaces ([::])", async function () {
			if (!(await haveIpv6Loopback())) this.skip();
			const child = new Child(process.execPath, [XSCOAP, "serve", "--bind", "0"]);
			try {
				const m = await child.waitFor(/listening on coap:\/\/\[::\]:(\d+)\//, 10000);
				const r = await xscoap(["get", "coap://127.0.0.1:" + m[1] + "/hello"]);
				assert.equal(r.stdout, "Hello, world!");
			} finally {
				await child.stop();
			}
		});

		it("serve with no --bind uses [::]:5683 (skipped if 5683 is in use here)", async function () {
			const probe = dgram.createSocket({ type: "udp6", ipv6Only: false });
			const free = await new Promise<boolean>((resolve) => {
				probe.once("error", () => resolve(false));
				probe.bind({ port: 5683, address: "::", exclusive: true }, () => resolve(true));
			});
			await new Promise<void>((resolve) => probe.close(() => resolve()));
			if (!free) {
				console.log("      (skipped: UDP port 5683 is in use on this machine)");
				this.skip();
			}
			const child = new Child(process.execPath, [XSCOAP, "serve"]);
			try {
				const line = await Promise.race([
					child.waitFor(/listening on (coap:\/\/\S+)/, 10000).then((m) => m[1]!),
					child.exited.then(() => null),
				]);
				if (line === null) {
					// Taken in the meantime by another process: the error must say so.
					assert.match(child.stderr, /cannot listen on \[::\]:5683/);
					this.skip();
				}
				assert.equal(line, "coap://[::]:5683/");
			} finally {
				await child.stop();
			}
		});

		it("--bind to a port already in use exits non-zero with a clear message", async () => {
			const holder = dgram.createSocket("udp4");
			const port = await new Promise<number>((resolve, reject) => {
				holder.once("error", reject);
				holder.bind({ port: 0, address: "127.0.0.1", exclusive: true }, () => resolve(holder.address().port));
			});
			try {
				const r = await xscoap(["serve", "--bind", "127.0.0.1:" + port], { timeoutMs: 10000 });
				assert.ok(!r.timedOut, "serve kept running on a port in use");
				assert.notEqual(r.code, 0);
				assert.equal(r.stdout, "", "no 'listening' line");
				assert.match(r.stderr, new RegExp("^error: cannot listen on 127\\.0\\.0\\.1:" + port + ": .*EADDRINUSE", "m"));
			} finally {
				holder.close();
			}
		});

		it("device and fileserver on a port in use: one error line each, exit 3", async () => {
			const holder = dgram.createSocket("udp4");
			const port = await new Promise<number>((resolve, reject) => {
				holder.once("error", reject);
				holder.bind({ port: 0, address: "127.0.0.1", exclusive: true }, () => resolve(holder.address().port));
			});
			try {
				for (const args of [["device", "examples/sensor"], ["fileserver", tmp]]) {
					const r = await xscoap([...args, "--bind", "127.0.0.1:" + port], { timeoutMs: 10000 });
					assert.equal(r.code, 3, r.stderr);
					assert.equal(r.stderr.match(/EADDRINUSE/g)?.length, 1, "reported once: " + r.stderr);
					assert.match(r.stderr, new RegExp("^error: cannot listen on 127\\.0\\.0\\.1:" + port + ": ", "m"));
				}
			} finally {
				holder.close();
			}
		});

		it("examples/budget.mjs with a directory that has no manifest: one error line, exit 2, no stack trace", async () => {
			const r = await run(process.execPath, ["examples/budget.mjs", join(tmp, "nothing-here")]);
			assert.equal(r.code, 2);
			assert.equal(r.stderr, "error: no manifest.json in " + join(tmp, "nothing-here") + "\n");
		});

		it("-v traces every datagram the server receives and sends", async () => {
			const s = await startXscoapServer("127.0.0.1", 0, ["-v"]);
			try {
				await xscoap(["get", s.base + "/hello"]);
				const deadline = Date.now() + 3000;
				while (!/^-> .* ACK 2\.05 /m.test(s.child.stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
				assert.match(s.child.stderr, /^<- 127\.0\.0\.1:\d+ CON GET .*Uri-Path:"hello"/m);
				assert.match(s.child.stderr, /^-> 127\.0\.0\.1:\d+ ACK 2\.05 .*"Hello, world!"/m);
			} finally {
				await s.child.stop();
			}
		});
	});
});
