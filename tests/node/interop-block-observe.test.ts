/**
 * Interoperability of block-wise transfers (RFC 7959) and Observe (RFC 7641) with libcoap 4.3
 * (Debian's libcoap3-bin, no TLS), over real UDP on 127.0.0.1:
 *
 * - `coap-client-notls -b 16/64/256/1024` GETs /large from `xscoap serve` (byte-exact);
 *   PUT and POST of a 10,000-byte file (`-f`) to /echo in several block sizes, echoed back
 *   through Block2; `-s` observing /counter while it is POSTed to, and /time (which
 *   `xscoap serve` changes every second).
 * - xscoap's client (`openEndpoint`) against `coap-server-notls`: PUT of a large body
 *   (Block1) to /example_data and to a dynamic resource (`-d`), GET back (Block2) in several
 *   block sizes; observing libcoap's /time and cancelling.
 *
 * coap-client's payload is read from `-o FILE` (what it prints on stdout for a text payload
 * ends with a newline it adds); `-v 6` prints each message as
 * `v:1 t:ACK c:2.05 i:1234 {01} [ options ] :: 'payload'`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Endpoint } from "../../modules/coap/endpoint.js";
import type { ClientResponse } from "../../modules/coap/client/response.js";
import type { CoapError } from "../../modules/coap/errors.js";
import { largeText } from "../../modules/demo/demo.js";
import { openEndpoint } from "../../hosts/node/ports.js";
import { Child, freeUdpPort, killAll, requireLibcoap, run, sleep, startXscoapServer, waitForCoap, type XscoapServer } from "./helpers.js";

const CLIENT = "coap-client-notls";
const SERVER = "coap-server-notls";
const OPT_OBSERVE = 6;
const OPT_BLOCK2 = 23;

interface Line {
	type: string;
	code: string;
	options: string;
	payload: string;
}

interface ClientRun {
	lines: Line[];
	payload: Buffer;
	stdout: string;
	stderr: string;
}

let tmp = "";
let runs = 0;

/** Runs coap-client-notls -v 6 -o FILE with `args` on `uri`. */
async function coapClient(args: readonly string[], uri: string, timeoutMs = 30000): Promise<ClientRun> {
	const out = join(tmp, "out-" + ++runs);
	const r = await run(CLIENT, ["-v", "6", "-B", "10", "-o", out, ...args, uri], { timeoutMs });
	assert.ok(!r.timedOut, CLIENT + " did not finish: " + r.stdout.slice(-2000) + r.stderr);
	const lines: Line[] = [];
	for (const l of r.stdout.split("\n")) {
		const m = /^v:1 t:(CON|NON|ACK|RST) c:(\S+) i:[0-9a-f]{4} \{[0-9a-f]*\} \[ ?(.*?) ?\](?: :: '(.*)')?$/.exec(l);
		if (m) lines.push({ type: m[1]!, code: m[2]!, options: m[3]!, payload: m[4] ?? "" });
	}
	let payload = Buffer.alloc(0);
	try {
		payload = readFileSync(out);
	} catch {
		// no payload written
	}
	return { lines, payload, stdout: r.stdout, stderr: r.stderr };
}

/** Printable text of `n` bytes (base64-like lines), deterministic per seed. */
function textBody(n: number, seed: number): Buffer {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	let x = seed * 2654435761 >>> 0 || 1;
	const out = Buffer.alloc(n);
	for (let i = 0; i < n; i++) {
		x ^= x << 13;
		x >>>= 0;
		x ^= x >>> 17;
		x ^= x << 5;
		x >>>= 0;
		out[i] = i % 77 === 76 ? 0x0a : alphabet.charCodeAt(x & 63);
	}
	return out;
}

describe("interop: block-wise (RFC 7959) and Observe (RFC 7641) with libcoap", function () {
	this.timeout(60000);

	before(function () {
		requireLibcoap();
		tmp = mkdtempSync(join(tmpdir(), "xscoap-block-observe-"));
	});

	after(() => {
		killAll();
		if (tmp) rmSync(tmp, { recursive: true, force: true });
	});

	describe("coap-client-notls → xscoap serve", () => {
		let server: XscoapServer | undefined;
		let ep: Endpoint | undefined;

		before(async function () {
			server = await startXscoapServer("127.0.0.1");
			ep = await openEndpoint({ address: "127.0.0.1" });
		});

		after(async () => {
			ep?.close();
			await server?.child.stop();
		});

		for (const size of [16, 64, 256, 1024]) {
			it(`GET /large with -b ${size}: 5,500 bytes byte-exact, in ${size}-byte blocks with one ETag`, async () => {
				const r = await coapClient(["-b", String(size)], server!.base + "/large");
				assert.equal(r.payload.toString("latin1"), largeText(), "byte-exact (-o FILE)");
				const answers = r.lines.filter((l) => l.type === "ACK");
				assert.ok(answers.length >= 1, r.stdout);
				// coap-client prints the first request and the responses it got.
				assert.match(answers[0]!.options, new RegExp("Block2:0/M/" + size), answers[0]!.options);
				assert.match(answers[0]!.options, /Size2:5500/);
				const etags = new Set(answers.map((l) => /ETag:(0x[0-9a-f]+)/.exec(l.options)?.[1]));
				assert.equal(etags.size, 1, "one ETag across the blocks: " + [...etags].join(" "));
				for (const l of answers) assert.equal(l.code, "2.05");
			});
		}

		const file = () => {
			const path = join(tmp, "upload.txt");
			writeFileSync(path, textBody(10000, 7));
			return path;
		};

		for (const method of ["put", "post"]) {
			for (const size of [16, 64, 1024]) {
				it(`${method.toUpperCase()} /echo -b ${size} -f (10,000 bytes): the body arrives and is echoed back byte-exact (Block1, then Block2)`, async () => {
					const path = file();
					const r = await coapClient(["-m", method, "-b", String(size), "-f", path], server!.base + "/echo", 60000);
					const sent = readFileSync(path);
					assert.equal(r.payload.length, sent.length, "echo length; stderr: " + r.stderr);
					assert.ok(r.payload.equals(sent), "echo byte-exact");
					const final = r.lines.filter((l) => l.code === "2.04");
					assert.ok(final.length >= 1, r.stdout.slice(-1500));
					assert.match(final[0]!.options, /Block2:0\/M\//, "the echo starts with Block2 block 0");
				});
			}
		}

		it("GET /large -b 256 through xscoap's own client: byte-exact too (client and server both xscoap, real UDP)", async () => {
			const big = await openEndpoint({ address: "127.0.0.1", limits: { maxBodySize: 65536 } });
			try {
				const res = await big.request({ uri: server!.base + "/large", blockSize: 256 });
				assert.equal(res.text(), largeText());
			} finally {
				big.close();
			}
		});

		it("-s 4 observing /counter while it is POSTed to three times: the notifications arrive, in order", async () => {
			const before = Number((await ep!.request({ uri: server!.base + "/counter" })).text());
			const watching = coapClient(["-s", "4"], server!.base + "/counter");
			await sleep(800);
			for (let i = 0; i < 3; i++) {
				const res = await ep!.request({ method: "POST", uri: server!.base + "/counter" });
				assert.equal(res.codeText, "2.04");
				await sleep(300);
			}
			const r = await watching;
			const notes = r.lines.filter((l) => (l.type === "ACK" || l.type === "NON" || l.type === "CON") && l.code === "2.05");
			assert.deepEqual(notes.map((l) => Number(l.payload)), [before, before + 1, before + 2, before + 3], r.stdout);
			const seqs = notes.map((l) => Number(/Observe:(\d+)/.exec(l.options)?.[1]));
			for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! > seqs[i - 1]!, "Observe numbers increase: " + seqs.join(","));
			assert.deepEqual(notes.slice(1).map((l) => l.type), ["NON", "NON", "NON"], "NON notifications by default");
			// -o FILE gets every notification's payload, one after the other.
			assert.equal(r.payload.toString(), [before, before + 1, before + 2, before + 3].join(""));
		});

		it("-s 4 observing /time: a notification every second (xscoap serve ticks /time), ISO times increasing", async () => {
			const r = await coapClient(["-s", "4"], server!.base + "/time");
			const notes = r.lines.filter((l) => l.code === "2.05" && l.type !== "CON");
			assert.ok(notes.length >= 4, "registration answer and at least 3 notifications: " + r.stdout);
			const times = notes.map((l) => Date.parse(l.payload));
			for (const t of times) assert.ok(Number.isFinite(t), "an ISO 8601 time: " + r.stdout);
			for (let i = 2; i < times.length; i++) {
				const gap = times[i]! - times[i - 1]!;
				assert.ok(gap > 700 && gap < 1500, "about one second apart: " + gap);
			}
			for (const l of notes) assert.match(l.options, /Max-Age:1/);
		});

		it("the server is still running", () => {
			assert.ok(server!.child.running, server!.child.stderr);
		});
	});

	describe("xscoap client → coap-server-notls", () => {
		let server: Child | undefined;
		let port = 0;
		let ep: Endpoint | undefined;

		before(async function () {
			for (let attempt = 0; attempt < 5 && server === undefined; attempt++) {
				port = await freeUdpPort("127.0.0.1");
				// -e: a PUT is answered with its body (so the answer to a Block1 PUT is itself block-wise).
				const c = new Child(SERVER, ["-A", "127.0.0.1", "-p", String(port), "-d", "16", "-e", "-v", "4"]);
				try {
					await waitForCoap("127.0.0.1", port, 5000);
					await sleep(100);
					if (c.running && !/already in use|cannot create/i.test(c.stdout + c.stderr)) server = c;
					else await c.stop();
				} catch {
					await c.stop();
				}
			}
			if (server === undefined) throw new Error("could not start " + SERVER);
			ep = await openEndpoint({ address: "127.0.0.1", limits: { maxBodySize: 65536, blockTransfers: 2 } });
		});

		after(async () => {
			ep?.close();
			await server?.stop();
		});

		const uri = (path: string) => "coap://127.0.0.1:" + port + path;

		it("PUT 10,000 bytes to /example_data (Block1, Request-Tag); the echoed answer (-e) and GETs in 1024, 256 and 16-byte blocks: byte-exact", async () => {
			const body = textBody(10000, 11);
			let res = await ep!.request({ method: "PUT", uri: uri("/example_data"), payload: body, contentFormat: 0 });
			assert.ok(res.codeText === "2.04" || res.codeText === "2.01", res.codeText + " " + res.text());
			// The answer's later blocks are asked with the upload's Request-Tag (RFC 9175 §3.3).
			assert.ok(Buffer.from(res.payload).equals(body), "the PUT's answer is its body (-e), fetched block-wise: " + res.payload.length);
			for (const blockSize of [1024, 256, 16]) {
				res = await ep!.request({ uri: uri("/example_data"), blockSize });
				assert.equal(res.codeText, "2.05");
				assert.equal(res.payload.length, body.length, "blockSize " + blockSize);
				assert.ok(Buffer.from(res.payload).equals(body), "byte-exact with blockSize " + blockSize);
				assert.equal(res.option(OPT_BLOCK2), undefined);
			}
			assert.equal(ep!.transfersInUse, 0);
		});

		it("PUT 5,000 bytes in 64-byte blocks to a dynamic resource (-d): 2.01; GET back byte-exact; DELETE", async () => {
			const path = "/xscoap-big-" + process.pid;
			const body = textBody(5000, 12);
			let res = await ep!.request({ method: "PUT", uri: uri(path), payload: body, blockSize: 64, contentFormat: 0 });
			assert.equal(res.codeText, "2.01");
			res = await ep!.request({ uri: uri(path) });
			assert.ok(Buffer.from(res.payload).equals(body));
			res = await ep!.request({ method: "DELETE", uri: uri(path) });
			assert.equal(res.codeText, "2.02");
		});

		it("observing libcoap's /time: CON notifications about every second, Observe increasing; cancel() ends it", async () => {
			const got: { at: number; seq: number; text: string }[] = [];
			let ended: CoapError | null | undefined;
			const t0 = Date.now();
			const obs = ep!.observe({ uri: uri("/time") }, (r: ClientResponse) => got.push({ at: Date.now() - t0, seq: r.optionUint(OPT_OBSERVE), text: r.text() }), (e) => (ended = e));
			await sleep(3600);
			assert.ok(got.length >= 3, "notifications: " + JSON.stringify(got));
			for (let i = 1; i < got.length; i++) assert.ok(got[i]!.seq > got[i - 1]!.seq, "fresher each time: " + JSON.stringify(got));
			await obs.cancel();
			assert.equal(obs.active, false);
			assert.equal(ended, null);
			const n = got.length;
			await sleep(2200);
			assert.equal(got.length, n, "nothing delivered after cancel()");
			assert.equal(ep!.clientSlotsInUse, 0);
		});

		// libcoap answers a re-registration with the resource's current Observe number, which is
		// the last notification's when nothing changed (§3.3.1 renewal at Max-Age, 60 s here):
		// the observation must stay alive through it (it once ended with COAP_TIMEOUT at about
		// 150 s). Slow on purpose: three minutes of real time.
		it("observing libcoap's unchanging /example_data survives the renewal at Max-Age", async function () {
			this.timeout(240000);
			let ended: CoapError | null | undefined;
			const obs = ep!.observe({ uri: uri("/example_data") }, () => {}, (e) => (ended = e));
			await sleep(180000);
			assert.equal(ended, undefined);
			assert.ok(obs.active);
			await obs.cancel();
		});
	});
});
