/**
 * Hand-made datagrams from a node:dgram socket to `xscoap serve` over real UDP: malformed and
 * unusual messages get the answer RFC 7252 asks for (Reset, 4.02, or nothing), and the server
 * keeps answering normal requests afterwards.
 *
 * RFC 7252 §4.2: a CON that cannot be processed (Empty, reserved code class, message format
 * error) is rejected with a Reset; §4.3: anything else unprocessable is silently ignored;
 * §3: unknown versions are silently ignored; §5.4.1: an unrecognised critical option in a CON
 * request gets 4.02 Bad Option; §4.5: duplicates get the same answer and are processed once.
 */
import assert from "node:assert/strict";
import { ACK, NON, RST, RawPeer, header, killAll, startXscoapServer, type Reply, type XscoapServer } from "./helpers.js";

const enc = (s: string) => [...Buffer.from(s, "utf8")];
/** Uri-Path option (11) as the first option: delta 11. */
const PATH_HELLO = [0xb5, ...enc("hello")];
/** How long "no answer" is waited for. */
const SILENCE_MS = 600;

function assertReset(r: Reply | null, mid: number): void {
	assert.ok(r, "expected a Reset, got no answer");
	assert.equal(r.bytes.length, 4, "a Reset is an Empty message: 4 bytes (§4.1), got " + r.bytes.toString("hex"));
	const h = header(r.bytes);
	assert.equal(h.version, 1);
	assert.equal(h.type, RST, "type RST; got " + r.bytes.toString("hex"));
	assert.equal(h.code, "0.00");
	assert.equal(h.mid, mid, "the Reset carries the rejected message's MID");
}

function assertSilence(r: Reply | null): void {
	assert.equal(r, null, "expected no answer, got " + r?.bytes.toString("hex"));
}

describe("malformed and unusual datagrams over UDP to xscoap serve", function () {
	this.timeout(20000);
	let server: XscoapServer;
	let peer: RawPeer;
	let mid = 0x2000;
	const nextMid = () => (mid = (mid + 1) & 0xffff);

	/** Sends bytes to the server, returns its first answer (or null). */
	const send = (bytes: number[], timeoutMs = 3000) => peer.exchange(Uint8Array.from(bytes), server.port, "127.0.0.1", timeoutMs);

	/** A CON GET /hello must still get 2.05 "Hello, world!" piggybacked. */
	async function assertStillServing(): Promise<void> {
		const m = nextMid();
		let r = await send([0x42, 0x01, m >> 8, m & 0xff, 0xca, 0xfe, ...PATH_HELLO]);
		// Skip late answers to earlier datagrams, if any.
		while (r !== null && header(r.bytes).mid !== m) r = await peer.next(3000);
		assert.ok(r, "the server stopped answering");
		const h = header(r.bytes);
		assert.equal(h.type, ACK);
		assert.equal(h.code, "2.05");
		assert.equal(h.mid, m);
		assert.equal(h.token.toString("hex"), "cafe");
		assert.equal(h.payload.toString(), "Hello, world!");
	}

	before(async () => {
		server = await startXscoapServer("127.0.0.1");
		peer = await RawPeer.open("udp4");
	});

	after(async () => {
		peer?.close();
		await server?.child.stop();
		killAll();
	});

	afterEach(function () {
		// Whatever a test sent, the server process must still be there.
		if (this.currentTest?.state === "passed") assert.ok(server.child.running, "xscoap serve exited: " + server.child.stderr);
	});

	it("a well-formed CON GET /hello is answered (baseline)", async () => {
		await assertStillServing();
	});

	it("CON with TKL 9 (reserved token length) → Reset (§3: format error; §4.2)", async () => {
		const m = nextMid();
		assertReset(await send([0x49, 0x01, m >> 8, m & 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, ...PATH_HELLO]), m);
		await assertStillServing();
	});

	it("CON with TKL 15 and no token bytes → Reset", async () => {
		const m = nextMid();
		assertReset(await send([0x4f, 0x01, m >> 8, m & 0xff]), m);
	});

	it("CON GET /hello with an unknown critical option (25) → ACK 4.02 Bad Option, same MID and token (§5.4.1)", async () => {
		const m = nextMid();
		// Option 25 after Uri-Path (11): delta 14 → nibble 13 with extension byte 1.
		const r = await send([0x44, 0x01, m >> 8, m & 0xff, 0x0a, 0x0b, 0x0c, 0x0d, ...PATH_HELLO, 0xd1, 0x01, 0x78]);
		assert.ok(r, "no answer");
		const h = header(r.bytes);
		assert.equal(h.type, ACK);
		assert.equal(h.code, "4.02");
		assert.equal(h.mid, m);
		assert.equal(h.token.toString("hex"), "0a0b0c0d");
		await assertStillServing();
	});

	it("CON GET /hello with an unknown critical option in the 16-bit range (65001) → 4.02", async () => {
		const m = nextMid();
		// 65001 - 11 = 64990 → nibble 14, extension 64990 - 269 = 64721 = 0xfcd1.
		const r = await send([0x40, 0x01, m >> 8, m & 0xff, ...PATH_HELLO, 0xe1, 0xfc, 0xd1, 0x01]);
		assert.ok(r, "no answer");
		assert.equal(header(r.bytes).code, "4.02");
	});

	it("CON GET /hello with an unknown elective option (even number, 24) is served normally (§5.4.1)", async () => {
		const m = nextMid();
		const r = await send([0x40, 0x01, m >> 8, m & 0xff, ...PATH_HELLO, 0xd1, 0x00, 0x78]);
		assert.ok(r, "no answer");
		assert.equal(header(r.bytes).code, "2.05");
		assert.equal(header(r.bytes).payload.toString(), "Hello, world!");
	});

	it("CON with an empty Uri-Host (illegal length, critical) → 4.02 (§5.4.3)", async () => {
		const m = nextMid();
		const r = await send([0x40, 0x01, m >> 8, m & 0xff, 0x30, 0x85, ...enc("hello")]);
		assert.ok(r, "no answer");
		assert.equal(header(r.bytes).code, "4.02");
	});

	it("NON GET with an unknown critical option is rejected: not processed (Reset or silence, §5.4.1, §4.3)", async () => {
		const m = nextMid();
		const r = await send([0x50, 0x01, m >> 8, m & 0xff, ...PATH_HELLO, 0xd1, 0x01, 0x78], SILENCE_MS);
		if (r !== null) assertReset(r, m);
	});

	it("an empty CON (CoAP ping) → Reset (§4.3)", async () => {
		const m = nextMid();
		assertReset(await send([0x40, 0x00, m >> 8, m & 0xff]), m);
		await assertStillServing();
	});

	it("a 2-byte datagram (shorter than the header) → no answer (§4.2: cannot even be rejected)", async () => {
		assertSilence(await send([0x40, 0x01], SILENCE_MS));
		assertSilence(await send([0x40], SILENCE_MS));
		assertSilence(await send([0x40, 0x01, 0x00], SILENCE_MS));
		await assertStillServing();
	});

	it("an empty datagram → no answer", async () => {
		assertSilence(await send([], SILENCE_MS));
		await assertStillServing();
	});

	it("version 2 → silently ignored (§3)", async () => {
		const m = nextMid();
		assertSilence(await send([0x80, 0x01, m >> 8, m & 0xff, ...PATH_HELLO], SILENCE_MS));
		assertSilence(await send([0x00, 0x01, m >> 8, m & 0xff, ...PATH_HELLO], SILENCE_MS));
	});

	it("CON with a payload marker and no payload → Reset (§3)", async () => {
		const m = nextMid();
		assertReset(await send([0x40, 0x01, m >> 8, m & 0xff, ...PATH_HELLO, 0xff]), m);
	});

	it("CON with option delta nibble 15 that is not a payload marker → Reset (§3.1)", async () => {
		const m = nextMid();
		assertReset(await send([0x40, 0x01, m >> 8, m & 0xff, 0xf1, 0x00]), m);
	});

	it("CON with a truncated option value → Reset", async () => {
		const m = nextMid();
		assertReset(await send([0x40, 0x01, m >> 8, m & 0xff, 0xb5, 0x68, 0x65]), m);
	});

	it("CON with a reserved code class (1.00) → Reset (§4.2)", async () => {
		const m = nextMid();
		assertReset(await send([0x40, 0x20, m >> 8, m & 0xff]), m);
	});

	it("an Empty CON with a token (format error, §4.1) → Reset", async () => {
		const m = nextMid();
		assertReset(await send([0x41, 0x00, m >> 8, m & 0xff, 0x07]), m);
	});

	it("an empty NON, an unmatched ACK and an unmatched RST → no answer", async () => {
		for (const t of [0x50, 0x60, 0x70]) {
			const m = nextMid();
			assertSilence(await send([t, 0x00, m >> 8, m & 0xff], SILENCE_MS));
		}
	});

	it("a request carried in an ACK → no answer (not a valid message, §4.2)", async () => {
		const m = nextMid();
		assertSilence(await send([0x60, 0x01, m >> 8, m & 0xff, ...PATH_HELLO], SILENCE_MS));
	});

	it("an unexpected CON response (nobody asked) → Reset (§4.2)", async () => {
		const m = nextMid();
		assertReset(await send([0x41, 0x45, m >> 8, m & 0xff, 0x99, 0xff, 0x41]), m);
	});

	it("a request with Proxy-Uri → 5.05 Proxying Not Supported (§5.7.2)", async () => {
		const m = nextMid();
		// Proxy-Uri (35): delta 13 + extension 22, length 9.
		const r = await send([0x40, 0x01, m >> 8, m & 0xff, 0xd9, 35 - 13, ...enc("coap://x/")]);
		assert.ok(r, "no answer");
		assert.equal(header(r.bytes).code, "5.05");
		assert.equal(header(r.bytes).mid, m);
	});

	it("a duplicate CON POST /counter gets the same cached answer and is processed once (§4.5)", async () => {
		const m = nextMid();
		const post = [0x41, 0x02, m >> 8, m & 0xff, 0x55, 0xb7, ...enc("counter")];
		const a = await send(post);
		const b = await send(post);
		assert.ok(a && b, "no answer");
		assert.deepEqual(b.bytes, a.bytes, "the duplicate gets the same reply");
		assert.equal(header(a.bytes).code, "2.04");
		const n = Number(header(a.bytes).payload.toString());
		// A fresh POST (new MID) shows the counter moved by one only.
		const m2 = nextMid();
		const c = await send([0x41, 0x02, m2 >> 8, m2 & 0xff, 0x56, 0xb7, ...enc("counter")]);
		assert.equal(Number(header(c!.bytes).payload.toString()), n + 1);
	});

	it("a duplicate NON POST /counter is ignored (§4.5)", async () => {
		const m = nextMid();
		const post = [0x51, 0x02, m >> 8, m & 0xff, 0x57, 0xb7, ...enc("counter")];
		const a = await send(post);
		assert.ok(a, "no answer");
		assert.equal(header(a.bytes).type, NON);
		assertSilence(await send(post, SILENCE_MS));
	});

	it("more options than the server's limit (64) → 4.02, a defined bounded outcome", async () => {
		const m = nextMid();
		const opts = [...PATH_HELLO, 0x41, 0x61];
		for (let i = 0; i < 69; i++) opts.push(0x01, 0x61); // 70 Uri-Query "a"
		const r = await send([0x40, 0x01, m >> 8, m & 0xff, ...opts]);
		assert.ok(r, "no answer");
		assert.equal(header(r.bytes).code, "4.02");
	});

	it("a burst of 200 garbage datagrams, then normal service", async () => {
		let seed = 12345;
		const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16) & 0xff;
		for (let i = 0; i < 200; i++) {
			const len = rnd() % 40;
			const bytes = Array.from({ length: len }, rnd);
			// Keep them from being well-formed requests to real resources: version 1 or not, any type.
			await peer.send(Uint8Array.from(bytes), server.port, "127.0.0.1");
		}
		await new Promise((r) => setTimeout(r, 300));
		peer.received.length = 0;
		await assertStillServing();
	});
});
