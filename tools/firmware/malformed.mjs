// The malformed and unusual datagrams of tests/node/malformed-udp.test.ts, as a table that
// npm run firmware sends to the sensor firmware in the simulator and to the same app on the
// Node host (`xscoap device examples/sensor`): each must get the answer RFC 7252 asks for, and
// the same bytes from both hosts (the portable core decides, not the host). The resource is
// /actuators/led (GET answers "0" until a PUT changes it) instead of the demo server's /hello;
// the duplicate-detection cases use PUT /actuators/led instead of POST /counter.
import dgram from "node:dgram";

const CON = 0;
const NON = 1;
const ACK = 2;
const RST = 3;
const enc = (s) => [...Buffer.from(s, "utf8")];
/** Uri-Path "actuators", "led": delta 11 + length 9, then delta 0 + length 3. */
const PATH_LED = [0xb9, ...enc("actuators"), 0x03, ...enc("led")];
/** How long "no answer" is waited for. */
const SILENCE_MS = 600;

/** Type, code "c.dd", MID, token (hex) and payload of a CoAP message, or a note that it is not one. */
export function describe(bytes) {
	if (bytes.length < 4) return "short(" + Buffer.from(bytes).toString("hex") + ")";
	const tkl = bytes[0] & 0x0f;
	const code = bytes[1];
	const token = Buffer.from(bytes.subarray(4, 4 + tkl)).toString("hex");
	const marker = bytes.indexOf(0xff, 4 + tkl);
	const payload = marker >= 0 ? Buffer.from(bytes.subarray(marker + 1)).toString("utf8") : "";
	return ["CON", "NON", "ACK", "RST"][(bytes[0] >> 4) & 3] + " " + (code >> 5) + "." + String(code & 31).padStart(2, "0") + " mid=" + ((bytes[2] << 8) | bytes[3]) + (token ? " token=" + token : "") + (payload ? ' "' + payload + '"' : "");
}

/**
 * The cases: each sends one or more datagrams and says what RFC 7252 wants back.
 * `expect(replies)` returns an error text or null; replies are the datagrams received in
 * answer to each datagram sent (null for silence).
 */
export function cases() {
	let mid = 0x3000;
	const next = () => (mid = (mid + 1) & 0xffff);
	const m = () => {
		const x = next();
		return [x >> 8, x & 0xff];
	};
	const isReset = (r, want) => (r && r.length === 4 && (r[0] >> 4) === ((1 << 2) | RST) && r[1] === 0 && ((r[2] << 8) | r[3]) === want ? null : "expected a Reset for mid " + want + ", got " + (r ? describe(r) : "silence"));
	const code = (r, c, type = ACK) => (r && ((r[0] >> 4) & 3) === type && r[1] === c ? null : "expected " + ["CON", "NON", "ACK", "RST"][type] + " " + (c >> 5) + "." + String(c & 31).padStart(2, "0") + ", got " + (r ? describe(r) : "silence"));
	const silence = (r) => (r === null ? null : "expected no answer, got " + describe(r));
	const list = [];
	const add = (name, datagrams, expect, waitMs) => list.push({ name, datagrams, expect, waitMs });
	{
		const [a, b] = m();
		add("well-formed CON GET /actuators/led (baseline) → 2.05 \"0\"", [[0x42, 0x01, a, b, 0xca, 0xfe, ...PATH_LED]], ([r]) => code(r, 0x45) ?? (describe(r).endsWith('"0"') ? null : "payload " + describe(r)));
	}
	{
		const [a, b] = m();
		add("CON with TKL 9 (reserved) → Reset (§3, §4.2)", [[0x49, 0x01, a, b, 1, 2, 3, 4, 5, 6, 7, 8, 9, ...PATH_LED]], ([r]) => isReset(r, (a << 8) | b));
	}
	{
		const [a, b] = m();
		add("CON with TKL 15 and no token bytes → Reset", [[0x4f, 0x01, a, b]], ([r]) => isReset(r, (a << 8) | b));
	}
	{
		const [a, b] = m();
		add("CON GET with an unknown critical option (25) → 4.02 (§5.4.1)", [[0x44, 0x01, a, b, 0x0a, 0x0b, 0x0c, 0x0d, ...PATH_LED, 0xd1, 1, 0x78]], ([r]) => code(r, 0x82));
	}
	{
		const [a, b] = m();
		add("CON GET with an unknown critical option 65001 → 4.02", [[0x40, 0x01, a, b, ...PATH_LED, 0xe1, 0xfc, 0xd1, 0x01]], ([r]) => code(r, 0x82));
	}
	{
		const [a, b] = m();
		add("CON GET with an unknown elective option (24) → served, 2.05 (§5.4.1)", [[0x40, 0x01, a, b, ...PATH_LED, 0xd1, 0, 0x78]], ([r]) => code(r, 0x45));
	}
	{
		const [a, b] = m();
		add("CON with an empty Uri-Host (illegal length, critical) → 4.02 (§5.4.3)", [[0x40, 0x01, a, b, 0x30, 0x89, ...enc("actuators"), 0x03, ...enc("led")]] /* Uri-Host (3) empty, then Uri-Path: delta 8 */, ([r]) => code(r, 0x82));
	}
	{
		const [a, b] = m();
		add("NON GET with an unknown critical option → not processed (Reset or silence, §5.4.1, §4.3)", [[0x50, 0x01, a, b, ...PATH_LED, 0xd1, 1, 0x78]], ([r]) => (r === null ? null : isReset(r, (a << 8) | b)), SILENCE_MS);
	}
	{
		const [a, b] = m();
		add("empty CON (CoAP ping) → Reset (§4.3)", [[0x40, 0x00, a, b]], ([r]) => isReset(r, (a << 8) | b));
	}
	add("datagrams shorter than the header → no answer (§4.2)", [[0x40, 0x01], [0x40], [0x40, 0x01, 0x00]], (rs) => rs.map(silence).find((e) => e) ?? null, SILENCE_MS);
	add("an empty datagram → no answer", [[]], ([r]) => silence(r), SILENCE_MS);
	{
		const [a, b] = m();
		add("version 2 and version 0 → silently ignored (§3)", [[0x80, 0x01, a, b, ...PATH_LED], [0x00, 0x01, a, b, ...PATH_LED]], (rs) => rs.map(silence).find((e) => e) ?? null, SILENCE_MS);
	}
	{
		const [a, b] = m();
		add("CON with a payload marker and no payload → Reset (§3)", [[0x40, 0x01, a, b, ...PATH_LED, 0xff]], ([r]) => isReset(r, (a << 8) | b));
	}
	{
		const [a, b] = m();
		add("CON with option nibble 15 that is not a payload marker → Reset (§3.1)", [[0x40, 0x01, a, b, 0xf1, 0x00]], ([r]) => isReset(r, (a << 8) | b));
	}
	{
		const [a, b] = m();
		add("CON with a truncated option value → Reset", [[0x40, 0x01, a, b, 0xb5, 0x68, 0x65]], ([r]) => isReset(r, (a << 8) | b));
	}
	{
		const [a, b] = m();
		add("CON with a reserved code class (1.00) → Reset (§4.2)", [[0x40, 0x20, a, b]], ([r]) => isReset(r, (a << 8) | b));
	}
	{
		const [a, b] = m();
		add("an Empty CON with a token (format error, §4.1) → Reset", [[0x41, 0x00, a, b, 0x07]], ([r]) => isReset(r, (a << 8) | b));
	}
	{
		const ds = [0x50, 0x60, 0x70].map((t) => [t, 0x00, ...m()]);
		add("an empty NON, an unmatched ACK and an unmatched RST → no answer", ds, (rs) => rs.map(silence).find((e) => e) ?? null, SILENCE_MS);
	}
	{
		const [a, b] = m();
		add("a request carried in an ACK → no answer (§4.2)", [[0x60, 0x01, a, b, ...PATH_LED]], ([r]) => silence(r), SILENCE_MS);
	}
	{
		const [a, b] = m();
		add("an unexpected CON response → Reset (§4.2)", [[0x41, 0x45, a, b, 0x99, 0xff, 0x41]], ([r]) => isReset(r, (a << 8) | b));
	}
	{
		const [a, b] = m();
		add("a request with Proxy-Uri → 5.05 (§5.7.2)", [[0x40, 0x01, a, b, 0xd9, 35 - 13, ...enc("coap://x/")]], ([r]) => code(r, 0xa5));
	}
	{
		const [a, b] = m();
		const put = [0x41, 0x03, a, b, 0x55, ...PATH_LED, 0xff, ...enc("0")];
		add("a duplicate CON PUT /actuators/led gets the same answer (§4.5)", [put, put], ([r1, r2]) => code(r1, 0x44) ?? (r2 && Buffer.compare(Buffer.from(r1), Buffer.from(r2)) === 0 ? null : "the duplicate got " + (r2 ? describe(r2) : "silence")));
	}
	{
		const [a, b] = m();
		const put = [0x51, 0x03, a, b, 0x57, ...PATH_LED, 0xff, ...enc("0")];
		add("a duplicate NON PUT /actuators/led is ignored (§4.5)", [put, put], ([r1, r2]) => code(r1, 0x44, NON) ?? silence(r2), SILENCE_MS);
	}
	{
		const [a, b] = m();
		const opts = [...PATH_LED];
		// 70 Uri-Query "a" (option 15: delta 4 after Uri-Path 11, then delta 0).
		opts.push(0x41, 0x61);
		for (let i = 0; i < 69; i++) opts.push(0x01, 0x61);
		add("more options than the device's limit (maxOptions 24) → 4.02, a bounded outcome", [[0x40, 0x01, a, b, ...opts]], ([r]) => code(r, 0x82));
	}
	{
		let seed = 12345;
		const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16) & 0xff;
		const garbage = [];
		for (let i = 0; i < 200; i++) garbage.push(Array.from({ length: rnd() % 40 }, rnd));
		add("a burst of 200 garbage datagrams (answers not compared), then normal service", garbage, () => null, 0);
		const [a, b] = m();
		add("after the garbage: CON GET /actuators/led → 2.05", [[0x42, 0x01, a, b, 0xbe, 0xef, ...PATH_LED]], ([r]) => code(r, 0x45));
	}
	return list;
}

/** A raw UDP peer on 127.0.0.1 that sends datagrams and collects what comes back. */
export class RawPeer {
	#socket;
	received = [];
	static async open() {
		const p = new RawPeer();
		p.#socket = dgram.createSocket("udp4");
		p.#socket.on("message", (msg) => p.received.push(new Uint8Array(msg)));
		p.#socket.on("error", () => {}); // ICMP port unreachable after a crash: seen as silence
		await new Promise((r) => p.#socket.bind(0, "127.0.0.1", r));
		return p;
	}
	send(bytes, port) {
		return new Promise((r) => this.#socket.send(Uint8Array.from(bytes), port, "127.0.0.1", () => r()));
	}
	close() {
		this.#socket.close();
	}
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The answer to `bytes` whose MID matches (or any, for datagrams that cannot carry one), or null after `ms`. */
async function exchange(peer, port, bytes, ms) {
	const from = peer.received.length;
	await peer.send(bytes, port);
	const wantMid = bytes.length >= 4 ? (bytes[2] << 8) | bytes[3] : -1;
	// A NON request is answered by a NON response with a MID of its own (§5.2.3): match the token.
	const tkl = bytes.length >= 4 ? bytes[0] & 0x0f : 0;
	const nonToken = bytes.length >= 4 && ((bytes[0] >> 4) & 3) === NON && tkl > 0 && tkl <= 8 ? Buffer.from(bytes.slice(4, 4 + tkl)).toString("hex") : null;
	const end = Date.now() + ms;
	while (Date.now() < end) {
		for (let i = from; i < peer.received.length; i++) {
			const r = peer.received[i];
			if (r.length < 4) continue;
			if (nonToken !== null ? Buffer.from(r.subarray(4, 4 + (r[0] & 0x0f))).toString("hex") === nonToken : wantMid < 0 || ((r[2] << 8) | r[3]) === wantMid) return r;
		}
		await sleep(10);
	}
	return null;
}

/**
 * Runs the table against a device on 127.0.0.1:`port`. Returns one row per case:
 * { name, replies: (Uint8Array|null)[], error }.
 */
export async function runCases(port, { answerMs = 3000 } = {}) {
	const peer = await RawPeer.open();
	const rows = [];
	try {
		for (const c of cases()) {
			const replies = [];
			if (c.waitMs === 0) {
				for (const d of c.datagrams) await peer.send(d, port);
				await sleep(5000); // the simulator reads one datagram per 20 ms (modules/io/socket/lin/udp.c)
				peer.received.length = 0;
				rows.push({ name: c.name, replies: [], error: null, compare: false });
				continue;
			}
			for (const d of c.datagrams) replies.push(await exchange(peer, port, d, c.waitMs ?? answerMs));
			rows.push({ name: c.name, replies, error: c.expect(replies), compare: true });
		}
	} finally {
		peer.close();
	}
	return rows;
}

/**
 * A reply as hex for comparison. The MID of a CON or NON reply is the sender's own choice
 * (RFC 7252 §4.4: a fresh MID, randomised at start), so it is masked; ACK and RST echo the
 * request's MID and are compared whole.
 */
function comparable(r) {
	if (!r) return "-";
	const hex = Buffer.from(r).toString("hex");
	return r.length >= 4 && ((r[0] >> 4) & 3) <= NON ? hex.slice(0, 4) + "xxxx" + hex.slice(8) : hex;
}

/** Compares the answers of two hosts case by case: the differences, as text lines. */
export function compareRuns(a, b) {
	const diffs = [];
	for (let i = 0; i < a.length; i++) {
		if (!a[i].compare) continue;
		const ra = a[i].replies.map(comparable).join(" ");
		const rb = (b[i]?.replies ?? []).map(comparable).join(" ");
		if (ra !== rb) diffs.push(a[i].name + ": " + ra + " vs " + rb);
	}
	return diffs;
}
