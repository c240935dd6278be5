/**
 * The `xscoap` request commands beyond one plain request: observations and how they end
 * (Ctrl-C, --duration, --count, a server that is gone, a resource that is not observable),
 * what the payload looks like (--pretty by Content-Format, --raw, -o FILE, --observe-exec),
 * options the user adds (-O, -T, -U), libcoap-style -v traces, and the options that wait for
 * features (--proxy) and unreadable credentials. Against `xscoap serve` on loopback.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Child, XSCOAP, killAll, startXscoapServer, xscoap, type XscoapServer } from "./helpers.js";

/** An `xscoap` child (observations) whose stdout can be awaited line by line. */
function observer(args: readonly string[]): Child {
	return new Child(process.execPath, [XSCOAP, ...args]);
}

describe("xscoap CLI: observe, output formats, options", function () {
	this.timeout(30000);
	let server: XscoapServer;
	let base = "";
	let tmp = "";

	before(async () => {
		tmp = mkdtempSync(join(tmpdir(), "xscoap-cli2-"));
		server = await startXscoapServer("127.0.0.1");
		base = server.base;
	});

	after(async () => {
		await server?.child.stop();
		killAll();
		if (tmp) rmSync(tmp, { recursive: true, force: true });
	});

	describe("--observe", () => {
		it("--count 2: two notifications, one line each, then a deregistration (Observe:1) that is answered: exit 0", async () => {
			const r = await xscoap(["get", base + "/time", "--observe", "--count", "2", "-v"]);
			assert.equal(r.code, 0, r.stderr);
			const lines = r.stdout.split("\n");
			assert.equal(lines.length, 3, r.stdout);
			for (const l of lines.slice(0, 2)) assert.match(l, /^\d{4}-\d\d-\d\dT/);
			assert.match(r.stderr, /^-> .* CON GET .*\[ Observe:0, Uri-Path:"time" \]/m);
			assert.match(r.stderr, /^-> .* CON GET .*\[ Observe:1, Uri-Path:"time" \]/m, "deregistered (RFC 7641 §3.6)");
			assert.match(r.stderr, /^<- .* 2\.05 Content .*\[ Observe:\d+, Content-Format:text\/plain;charset=utf-8/m);
		});

		it("--duration 1.5 (and -s) ends the observation by itself with exit 0", async () => {
			for (const flag of ["--duration", "-s"]) {
				const r = await xscoap(["get", base + "/time", flag, "1.5"], { timeoutMs: 20000 });
				assert.ok(!r.timedOut, flag + " did not end the observation");
				assert.equal(r.code, 0, r.stderr);
				assert.ok(r.stdout.split("\n").filter((l) => /^\d{4}-/.test(l)).length >= 1, r.stdout);
			}
		});

		it("a resource that is not observable: the payload, a message naming the missing Observe, exit 1", async () => {
			const r = await xscoap(["get", base + "/hello", "--observe"]);
			assert.equal(r.code, 1);
			assert.equal(r.stdout, "Hello, world!");
			assert.match(r.stderr, /^error: 2\.05 Content without Observe: .*not observable/m);
		});

		it("SIGINT with the server up: deregistered, exit 0", async () => {
			const c = observer(["get", base + "/time", "--observe"]);
			await c.waitFor(/\n.*\n/);
			c.proc.kill("SIGINT");
			const exit = await c.exited;
			assert.equal(exit.code, 0, c.stderr);
			assert.equal(c.stderr, "");
		});

		it("SIGINT after the server is gone: ends at once, exit 4 naming the unanswered deregistration", async () => {
			const doomed = await startXscoapServer("127.0.0.1");
			const c = observer(["get", doomed.base + "/time", "--observe"]);
			await c.waitFor(/\n/);
			await doomed.child.stop();
			c.proc.kill("SIGINT");
			const exit = await c.exited;
			assert.equal(exit.code, 4, c.stderr);
			assert.match(c.stderr, /^error: the deregistration got no answer \((COAP_UNREACHABLE|no answer within \d+ ms)/m);
		});

		it("--observe-exec CMD runs CMD for each notification with its payload on stdin", async () => {
			const file = join(tmp, "exec.txt");
			const r = await xscoap(["get", base + "/time", "--observe-exec", "cat >> '" + file + "'; echo >> '" + file + "'", "--count", "2"]);
			assert.equal(r.code, 0, r.stderr);
			assert.equal(r.stdout, "");
			const got = readFileSync(file, "utf8").trim().split("\n");
			assert.equal(got.length, 2, got.join("|"));
			for (const l of got) assert.match(l, /^\d{4}-\d\d-\d\dT/);
		});

		it("-o FILE with --observe holds the latest notification", async () => {
			const file = join(tmp, "latest.txt");
			const r = await xscoap(["get", base + "/time", "--observe", "--count", "2", "-o", file]);
			assert.equal(r.code, 0, r.stderr);
			assert.equal(r.stdout, "");
			assert.match(readFileSync(file, "utf8"), /^\d{4}-\d\d-\d\dT[^\n]*$/);
		});
	});

	describe("payload output", () => {
		const post = (payload: Buffer | string, cf: string, ...extra: string[]) => {
			const file = join(tmp, "payload-" + cf.replace(/\W/g, "_"));
			writeFileSync(file, payload);
			return xscoap(["post", base + "/echo", "-f", file, "-t", cf, ...extra]);
		};

		it("--pretty: JSON indented", async () => {
			const r = await post('{"a":[1,{"b":null}],"c":"d"}', "json", "--pretty");
			assert.equal(r.stdout, '{\n  "a": [\n    1,\n    {\n      "b": null\n    }\n  ],\n  "c": "d"\n}\n');
		});

		it("--pretty: CBOR as diagnostic notation, byte strings as h'', integer keys, tags and bignums kept", async () => {
			// {1: h'0102', "a": [1(1700000000), 64(h'0a0b'), -1, 2(h'010000000000000000')], "t": true}
			const fixed = Buffer.from("a3014201026161" + "84" + "c11a6553f100" + "d840420a0b" + "20" + "c249010000000000000000" + "6174f5", "hex");
			const r = await post(fixed, "cbor", "--pretty");
			assert.equal(r.code, 0, r.stderr);
			assert.equal(r.stdout, '{\n  1: h\'0102\',\n  "a": [1(1700000000), 64(h\'0a0b\'), -1, 18446744073709551616],\n  "t": true\n}\n');
		});

		it("--pretty: a CBOR sequence, one item per line; bad CBOR shown as hex after a note", async () => {
			const seq = await post(Buffer.from("0161614101", "hex"), "application/cbor-seq", "--pretty");
			assert.equal(seq.stdout, '1,\n"a",\nh\'01\'\n');
			const bad = await post(Buffer.from("a201", "hex"), "cbor", "--pretty");
			assert.match(bad.stdout, /^\(not valid application\/cbor: .*\)\n00000000  a2 01 /);
		});

		it("--pretty: link-format one link per line (commas inside quotes stay)", async () => {
			const r = await post('</a>;rt="x,y";ct=0,</b>,<c,d>;title="q"', "link-format", "--pretty");
			assert.equal(r.stdout, '</a>;rt="x,y";ct=0,\n</b>,\n<c,d>;title="q"\n');
		});

		it("--pretty: SenML JSON and CBOR as a table with base values resolved (RFC 8428 §4.6)", async () => {
			const pack = '[{"bn":"urn:dev:ow:10e2073a01080063:","bt":1.276020076e+09,"bu":"A","n":"voltage","u":"V","v":120.1},{"n":"current","t":-5,"v":1.2},{"n":"current","t":-4,"v":1.3}]';
			const want = [
				"name                                 time                  value  unit",
				"urn:dev:ow:10e2073a01080063:voltage  2010-06-08T18:01:16Z  120.1  V",
				"urn:dev:ow:10e2073a01080063:current  2010-06-08T18:01:11Z    1.2  A",
				"urn:dev:ow:10e2073a01080063:current  2010-06-08T18:01:12Z    1.3  A",
				"",
			].join("\n");
			assert.equal((await post(pack, "senml+json", "--pretty")).stdout, want);
			// The same pack in CBOR (RFC 8428 §6 labels: bn -2, bt -3, bu -4, n 0, u 1, v 2, t 6), written by hand.
			const f64 = (x: number) => {
				const b = Buffer.alloc(9);
				b[0] = 0xfb;
				b.writeDoubleBE(x, 1);
				return b.toString("hex");
			};
			const str = (t: string) => (t.length < 24 ? (0x60 + t.length).toString(16) : "78" + t.length.toString(16).padStart(2, "0")) + Buffer.from(t).toString("hex");
			const hexPack =
				"83" +
				("a6" + "21" + str("urn:dev:ow:10e2073a01080063:") + "22" + f64(1.276020076e9) + "23" + str("A") + "00" + str("voltage") + "01" + str("V") + "02" + f64(120.1)) +
				("a3" + "00" + str("current") + "06" + "24" + "02" + f64(1.2)) +
				("a3" + "00" + str("current") + "06" + "23" + "02" + f64(1.3));
			const fixedLen = Buffer.from(hexPack, "hex");
			assert.equal((await post(fixedLen, "senml+cbor", "--pretty")).stdout, want);
		});

		it("--pretty: binary as a hex dump; in a pipe without --pretty the bytes come unchanged; --raw and --pretty together are refused", async () => {
			const bytes = Buffer.from([0, 1, 2, 0x41, 0xff, 0x80, 10, 0x7f]);
			const dump = await post(bytes, "octet-stream", "--pretty");
			assert.equal(dump.stdout, "00000000  00 01 02 41 ff 80 0a 7f                           |...A....|\n");
			const raw = await post(bytes, "octet-stream");
			assert.deepEqual(raw.stdoutBytes, bytes);
			const both = await post(bytes, "octet-stream", "--pretty", "--raw");
			assert.equal(both.code, 2);
		});

		it("-o FILE writes the payload's bytes to the file, nothing to stdout", async () => {
			const file = join(tmp, "out.bin");
			const r = await xscoap(["get", base + "/large", "-o", file, "-b", "256"]);
			assert.equal(r.code, 0, r.stderr);
			assert.equal(r.stdout, "");
			assert.equal(readFileSync(file).length, 5500);
			const bad = await xscoap(["get", base + "/hello", "-o", join(tmp, "no-such-dir", "x")]);
			assert.equal(bad.code, 3);
			assert.match(bad.stderr, /^error: cannot write /m);
			assert.ok(!existsSync(join(tmp, "no-such-dir")));
		});
	});

	describe("request options and traces", () => {
		it("-O NUM,VALUE / NAME,VALUE (text, 0x hex, uint, empty), -T HEX and -U show in the -v trace", async () => {
			const r = await xscoap(["get", "coap://localhost:" + server.port + "/hello", "-O", "Uri-Query,a=1", "-O", "65000,0x0a0b", "-O", "Hop-Limit,7", "-O", "65004", "-T", "c0ffee", "-U", "-v"]);
			assert.equal(r.code, 0, r.stderr);
			const out = r.stderr.split("\n").find((l) => l.startsWith("-> "))!;
			assert.match(out, /CON GET mid=0x[0-9a-f]{4} token=c0ffee \[ Uri-Path:"hello", Uri-Query:"a=1", Hop-Limit:7, Option-65000:0x0a0b, Option-65004:0x \]/);
			assert.doesNotMatch(out, /Uri-Host/, "-U: no Uri-Host");
			const withHost = await xscoap(["get", "coap://localhost:" + server.port + "/hello", "-v"]);
			assert.match(withHost.stderr, /^-> .*Uri-Host:"localhost"/m);
		});

		it("-v: Block2 as NUM/M/SIZE, ETag in hex, Size2, code names", async () => {
			const r = await xscoap(["get", base + "/large", "-b", "1024", "-v"]);
			assert.equal(r.code, 0, r.stderr);
			assert.match(r.stderr, /^<- .* ACK 2\.05 Content mid=0x[0-9a-f]{4} token=[0-9a-f]+ \[ ETag:0x[0-9a-f]{8}, Content-Format:text\/plain;charset=utf-8, Block2:0\/M\/1024, Size2:5500 \] :: 1024 bytes "line 001/m);
			assert.match(r.stderr, /^<- .*Block2:5\/_\/1024 \] :: 380 bytes/m);
		});

		for (const [what, args, pattern] of [
			["-O with an unknown name", ["-O", "Nonsense,1"], /unknown option name "Nonsense"/],
			["-O uint option with text", ["-O", "Max-Age,abc"], /uint option takes a number/],
			["-O with bad hex", ["-O", "65000,0xabc"], /not hex/],
			["-T with 9 bytes", ["-T", "000102030405060708"], /0\.\.8 bytes/],
			["--proxy", ["--proxy", "coap://127.0.0.1:5700"], /does not do proxying yet/],
			["--credentials of a missing file", ["--credentials", "no-such-client.json"], /--credentials no-such-client\.json: cannot read: no such file/],
			["--hop-limit 0", ["--hop-limit", "0"], /--hop-limit takes a whole number 1\.\.255/],
			["--count without --observe", ["--count", "2"], /--count goes with --observe/],
		] as const) {
			it("usage error: " + what, async () => {
				const r = await xscoap(["get", base + "/hello", ...args]);
				assert.equal(r.code, 2, r.stderr);
				assert.match(r.stderr, pattern);
				assert.equal(r.stdout, "");
			});
		}
	});
});
