/**
 * The client side of the OSCORE interop test specification (EricssonResearch/OSCOAP
 * test-spec5.md): test N (0..17) against a server, printing each check it makes (what the
 * specification's "Check" and "Verify" steps ask, on the decrypted messages and on the wire)
 * and returning whether all passed. Contexts A and C are the caller's (with their sequence
 * numbers persisted, RFC 8613 Appendix B.1.1: a series of runs against one server never
 * reuses a number, or the server would rightly answer "Replay detected" from test 3 on).
 *
 * The wire checks read the datagrams the endpoint sent and received (a WireLog fed from the
 * endpoint's trace). Tests 12-14 change one part of context A on purpose (the Sender ID, the
 * Sender Key, the Recipient Key); test 15 sends again a request protected with the sequence
 * number of the one before (the same plaintext, so the same bytes as the first time: a replay,
 * not a new use of the number); test 16 expects an OSCORE-unaware server (4.02, or 4.05 which
 * the specification accepts), test 17 an OSCORE-aware one refusing unprotected access (4.01).
 *
 * Portable (no Node APIs): the endpoint, clock and crypto are handed in.
 */
import { CODE_BAD_OPTION, CODE_BAD_REQUEST, CODE_CHANGED, CODE_CONTENT, CODE_DELETE, CODE_DELETED, CODE_FETCH, CODE_GET, CODE_INTERNAL_SERVER_ERROR, CODE_METHOD_NOT_ALLOWED, CODE_POST, CODE_PRECONDITION_FAILED, CODE_PUT, CODE_UNAUTHORIZED, FORMAT_TEXT, codeName } from "../coap/constants.js";
import type { ClientResponse } from "../coap/client/response.js";
import type { Endpoint } from "../coap/endpoint.js";
import { CoapError, type OscoreFailure } from "../coap/errors.js";
import type { Clock } from "../coap/host.js";
import { OPT_CONTENT_FORMAT, OPT_ETAG, OPT_IF_MATCH, OPT_IF_NONE_MATCH, OPT_MAX_AGE, OPT_OBSERVE, OPT_OSCORE, OPT_URI_HOST, optionName } from "../coap/options.js";
import type { OscoreCrypto } from "../coap/oscore/aead.js";
import { SecurityContext } from "../coap/oscore/context.js";
import { OscoreOptionValue } from "../coap/oscore/option.js";
import type { Store } from "../coap/store.js";
import { describeOptionValue } from "../coap/wire/describe.js";
import { MessageView } from "../coap/wire/view.js";
import { plugtestParams } from "./contexts.js";
import { HELLO } from "./server.js";

/** Test numbers of test-spec5. */
export const PLUGTEST_NUMBERS: readonly number[] = Object.freeze([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);

/** One-line titles, printed before each test. */
export const PLUGTEST_TITLES: readonly string[] = Object.freeze([
	"plain CoAP GET /oscore/hello/coap",
	"GET /oscore/hello/1 with context A",
	"GET /oscore/hello/1 with context C (ID Context in the request)",
	"GET /oscore/hello/2?first=1 (Uri-Query, ETag)",
	"GET /oscore/hello/3 with Accept 0 (Max-Age)",
	"GET /oscore/hello/1 with Observe 0 (a resource that is not observable)",
	"Observe /oscore/observe1 until the server ends it with 5.00",
	"Observe /oscore/observe2, then cancel with Observe 1",
	"POST /oscore/hello/6",
	"PUT /oscore/hello/7 with If-Match",
	"PUT /oscore/hello/7 with If-None-Match",
	"DELETE /oscore/test",
	"a Sender ID the server does not know (4.01)",
	"a wrong Sender Key (4.00)",
	"a wrong Recipient Key (the response does not verify)",
	"a replayed request (4.01 Replay detected)",
	"OSCORE to an OSCORE-unaware server (4.02)",
	"plain CoAP to a protected resource (4.01)",
]);

/** The datagrams an endpoint sent and received, as its trace reports them (copies). */
export class WireLog {
	readonly datagrams: { outgoing: boolean; bytes: Uint8Array }[] = [];

	/** An Endpoint `trace` function feeding this log. */
	readonly trace = (outgoing: boolean, bytes: Uint8Array, length: number): void => {
		this.datagrams.push({ outgoing, bytes: bytes.slice(0, length) });
	};

	clear(): void {
		this.datagrams.length = 0;
	}

	/** Parsed messages with a code (requests sent, or responses received), in order. */
	messages(outgoing: boolean): MessageView[] {
		const out: MessageView[] = [];
		for (const d of this.datagrams) {
			if (d.outgoing !== outgoing || d.bytes.length < 4 || d.bytes[1] === 0) continue;
			const v = new MessageView(64);
			if (v.parse(d.bytes, d.bytes.length) === 0) out.push(v);
		}
		return out;
	}
}

export interface PlugtestClientOptions {
	readonly endpoint: Endpoint;
	/** The server's address (numeric) and port. */
	readonly address: string;
	readonly port: number;
	/** Contexts A and C (plugtestContext("a"|"c", ...), persisted). */
	readonly a: SecurityContext;
	readonly c: SecurityContext;
	readonly crypto: OscoreCrypto;
	/** Keeps the sequence number of test 12's context (Sender ID "spam"); null: not kept. */
	readonly store: Store | null;
	/** Fed by the endpoint's trace. */
	readonly wire: WireLog;
	readonly clock: Clock;
	/** One line per check. */
	readonly print: (line: string) => void;
	/** How long one exchange may take (default 15 s; observations wait up to three times that). */
	readonly timeoutMs?: number;
}

class Checks {
	failed = 0;
	count = 0;
	readonly #print: (line: string) => void;

	constructor(print: (line: string) => void) {
		this.#print = print;
	}

	check(what: string, ok: boolean, detail = ""): boolean {
		this.count++;
		if (!ok) this.failed++;
		this.#print("  " + (ok ? "ok    " : "FAILED") + "  " + what + (detail === "" || ok ? "" : " (" + detail + ")"));
		return ok;
	}

	/** A check whose failure is reported but does not fail the test (what the receiver ignores anyway). */
	advise(what: string, ok: boolean, detail = ""): void {
		this.#print("  " + (ok ? "ok    " : "note  ") + "  " + what + (detail === "" || ok ? "" : " (" + detail + ")"));
	}

	note(text: string): void {
		this.#print("        " + text);
	}
}

function hexBytes(text: string): Uint8Array {
	const out = new Uint8Array(text.length / 2);
	for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
	return out;
}

function hex(b: Uint8Array, offset = 0, length = b.length - offset): string {
	let s = "";
	for (let i = 0; i < length; i++) s += (b[offset + i]! < 16 ? "0" : "") + b[offset + i]!.toString(16);
	return s;
}

/** "Content-Format: text/plain;charset=utf-8, ETag: 0x2b" of a delivered response (what the application sees). */
function optionsOf(r: ClientResponse): string {
	return r.options.map((o) => describe(o.number, o.value)).join(", ");
}

function describe(number: number, value: Uint8Array): string {
	return optionName(number) + ": " + describeOptionValue(number, value, 0, value.length);
}

/** Option numbers of a wire message, OSCORE included. */
function numbersOf(v: MessageView): number[] {
	const out: number[] = [];
	for (let i = 0; i < v.optionCount; i++) out.push(v.optNumber[i]!);
	return out;
}

function outerText(v: MessageView): string {
	const parts: string[] = [];
	for (let i = 0; i < v.optionCount; i++) parts.push(optionName(v.optNumber[i]!) + (v.optLength[i] === 0 ? "" : ":" + hex(v.bytes, v.optOffset[i]!, v.optLength[i]!)));
	return codeName(v.code) + " [" + parts.join(", ") + "]";
}

/** The parsed OSCORE option of a wire message, or null. */
function oscoreOption(v: MessageView): OscoreOptionValue | null {
	const i = v.find(OPT_OSCORE);
	if (i < 0) return null;
	const o = new OscoreOptionValue();
	return o.parse(v.bytes, v.optOffset[i]!, v.optLength[i]!) === 0 ? o : null;
}

/**
 * Runs test `n` (0..17) and prints its checks; resolves with true when all passed. Never
 * rejects: an exchange that fails unexpectedly is a failed check.
 */
export async function runPlugtest(o: PlugtestClientOptions, n: number): Promise<boolean> {
	const t = new Checks(o.print);
	o.print("test " + n + ": " + (PLUGTEST_TITLES[n] ?? "unknown"));
	if (PLUGTEST_NUMBERS.indexOf(n) < 0) {
		t.check("test " + n + " exists (0..17)", false);
		return false;
	}
	try {
		await TESTS[n]!(o, t);
	} catch (e) {
		t.check("the test ran to its end", false, e instanceof CoapError ? e.code + ": " + e.message : String(e));
	}
	o.print("test " + n + ": " + (t.failed === 0 ? "passed" : "FAILED") + " (" + (t.count - t.failed) + " of " + t.count + " checks passed)");
	return t.failed === 0;
}

type Test = (o: PlugtestClientOptions, t: Checks) => Promise<void>;

function target(o: PlugtestClientOptions, path: string, query: readonly string[] = []): { address: string; port: number; path: string; query: readonly string[] } {
	return { address: o.address, port: o.port, path, query };
}

/** A request; resolves with the response, or with the CoapError it failed with. */
async function send(o: PlugtestClientOptions, req: Parameters<Endpoint["request"]>[0]): Promise<ClientResponse | CoapError> {
	o.wire.clear();
	try {
		return await o.endpoint.request({ timeoutMs: o.timeoutMs ?? 15000, ...req });
	} catch (e) {
		if (e instanceof CoapError) return e;
		throw e;
	}
}

/** Checks that a response came (not an error); returns it or null. */
function response(t: Checks, r: ClientResponse | CoapError): ClientResponse | null {
	if (r instanceof CoapError) {
		t.check("a response came", false, r.code + ": " + r.message);
		return null;
	}
	return r;
}

/** The specification's checks of a protected request and its response on the wire. */
function wireProtected(o: PlugtestClientOptions, t: Checks, outerCode: number, kidContext: boolean, responseCode = CODE_CHANGED): void {
	const sent = o.wire.messages(true);
	const got = o.wire.messages(false);
	const req = sent[sent.length - 1];
	if (!t.check("a request was sent", req !== undefined)) return;
	const opt = oscoreOption(req);
	const outer = numbersOf(req).filter((x) => x !== OPT_OSCORE && x !== OPT_OBSERVE && x !== OPT_URI_HOST);
	t.check("the request on the wire is " + codeName(outerCode) + " with an OSCORE option, and no Uri-Path, Uri-Query, Accept or payload in the clear: " + outerText(req), req.code === outerCode && opt !== null && outer.length === 0, outerText(req));
	if (opt !== null) {
		t.check("its OSCORE option carries a Partial IV and the kid" + (kidContext ? ", and the ID Context as kid context" : ", and no kid context") + " (piv " + opt.piv + ", kid 0x" + hex(req.bytes, opt.kidOffset, Math.max(0, opt.kidLength)) + ")", opt.pivLength > 0 && opt.kidLength >= 0 && (opt.kidContextLength >= 0) === kidContext);
	}
	const res = got[got.length - 1];
	if (!t.check("a response came back", res !== undefined)) return;
	t.check("the response on the wire carries an OSCORE option: " + outerText(res), oscoreOption(res) !== null, outerText(res));
	// RFC 8613 §4.2: the Outer Code of a response is 2.04, 2.05 only for messages with Observe
	// (§4.1.3.5); the receiver discards it, so another one is worth a note, not a failure.
	t.advise("its Outer Code is " + codeName(responseCode) + " (RFC 8613 §4.2; the receiver discards it)", res.code === responseCode, "got " + codeName(res.code) + (res.code === CODE_CONTENT && req.find(OPT_OBSERVE) >= 0 ? ": the peer answers requests with Observe with 2.05 even without Observe in the response" : ""));
}

/** Checks code, options and payload of a delivered (decrypted) response. */
function expect(t: Checks, r: ClientResponse, code: number, options: readonly [number, string][], payload: string | null): void {
	t.check("decrypted response: " + codeName(r.code), r.code === code, "expected " + codeName(code));
	const want = options.map(([num, v]) => describe(num, hexBytes(v))).join(", ");
	t.check("its options: " + (want === "" ? "none" : want), optionsOf(r) === want, "got " + (optionsOf(r) || "none"));
	if (payload !== null) t.check("its payload: " + JSON.stringify(payload), r.text() === payload, "got " + JSON.stringify(r.text()));
}

/** The unprotected error a protected request got (RFC 8613 §8.2), as the endpoint reports it (§8.4). */
function unprotectedError(t: Checks, r: ClientResponse | CoapError, codes: readonly number[], what: string): ClientResponse | null {
	if (!(r instanceof CoapError)) {
		t.check("the server answered with an unprotected error, not a verified response", false, "got " + codeName(r.code) + " " + JSON.stringify(r.text()));
		return null;
	}
	const cause = r.cause as OscoreFailure | undefined;
	const res = r.code === "COAP_OSCORE" ? cause?.response ?? null : null;
	if (res === null) {
		t.check("the answer is not protected, so it is an error for the application (RFC 8613 §8.4)", false, r.code + ": " + r.message);
		return null;
	}
	t.check("the answer is not protected, so it is an error for the application (RFC 8613 §8.4): " + r.message, true);
	t.check("its code is " + codes.map((c) => codeName(c)).join(" or ") + " (" + what + ")", codes.indexOf(res.code) >= 0, "got " + codeName(res.code));
	return res;
}

const TESTS: readonly Test[] = Object.freeze([
	// 0: plain CoAP.
	async (o, t) => {
		const r = response(t, await send(o, { ...target(o, "/oscore/hello/coap"), oscore: null }));
		if (r === null) return;
		const req = o.wire.messages(true)[0];
		t.check("the request on the wire is a plain GET without OSCORE option", req !== undefined && req.code === CODE_GET && req.find(OPT_OSCORE) < 0);
		expect(t, r, CODE_CONTENT, [[OPT_CONTENT_FORMAT, ""]], HELLO);
	},
	// 1, 2: GET with A, then with C (kid context).
	async (o, t) => hello1(o, t, o.a, false),
	async (o, t) => hello1(o, t, o.c, true),
	// 3: Uri-Query, ETag.
	async (o, t) => {
		const r = response(t, await send(o, { ...target(o, "/oscore/hello/2", ["first=1"]), oscore: o.a }));
		if (r === null) return;
		wireProtected(o, t, CODE_POST, false);
		expect(t, r, CODE_CONTENT, [[OPT_ETAG, "2b"], [OPT_CONTENT_FORMAT, ""]], HELLO);
	},
	// 4: Accept, Max-Age.
	async (o, t) => {
		const r = response(t, await send(o, { ...target(o, "/oscore/hello/3"), accept: FORMAT_TEXT, oscore: o.a }));
		if (r === null) return;
		wireProtected(o, t, CODE_POST, false);
		const res = o.wire.messages(false).pop();
		if (res !== undefined) t.check("outer Max-Age 0 or none (§4.1.3.1; optional)", res.uintOf(OPT_MAX_AGE, 0) === 0);
		expect(t, r, CODE_CONTENT, [[OPT_CONTENT_FORMAT, ""], [OPT_MAX_AGE, "05"]], HELLO);
	},
	// 5: Observe on a resource that is not observable.
	async (o, t) => {
		const r = response(t, await send(o, { ...target(o, "/oscore/hello/1"), options: [[OPT_OBSERVE, 0]], oscore: o.a }));
		if (r === null) return;
		wireProtected(o, t, CODE_FETCH, false);
		const req = o.wire.messages(true).pop();
		if (req !== undefined) t.check("the registration carries Observe 0 outside too (§4.1.3.5.1)", req.uintOf(OPT_OBSERVE, -1) === 0);
		t.check("the response has no Observe option (not observable)", r.option(OPT_OBSERVE) === undefined);
		expect(t, r, CODE_CONTENT, [[OPT_CONTENT_FORMAT, ""]], HELLO);
	},
	// 6, 7: observations.
	async (o, t) => observeTest(o, t, "/oscore/observe1", true),
	async (o, t) => observeTest(o, t, "/oscore/observe2", false),
	// 8: POST.
	async (o, t) => {
		const r = response(t, await send(o, { ...target(o, "/oscore/hello/6"), method: CODE_POST, payload: Uint8Array.of(0x4a), contentFormat: FORMAT_TEXT, oscore: o.a }));
		if (r === null) return;
		wireProtected(o, t, CODE_POST, false);
		expect(t, r, CODE_CHANGED, [[OPT_CONTENT_FORMAT, ""]], "J");
		t.check("its payload is 0x4a", hex(r.payload) === "4a");
	},
	// 9: PUT with If-Match.
	async (o, t) => {
		const r = response(t, await send(o, { ...target(o, "/oscore/hello/7"), method: CODE_PUT, payload: Uint8Array.of(0x7a), contentFormat: FORMAT_TEXT, options: [[OPT_IF_MATCH, Uint8Array.of(0x7b)]], oscore: o.a }));
		if (r === null) return;
		wireProtected(o, t, CODE_POST, false);
		expect(t, r, CODE_CHANGED, [], "");
	},
	// 10: PUT with If-None-Match.
	async (o, t) => {
		const r = response(t, await send(o, { ...target(o, "/oscore/hello/7"), method: CODE_PUT, payload: Uint8Array.of(0x8a), contentFormat: FORMAT_TEXT, options: [[OPT_IF_NONE_MATCH, new Uint8Array(0)]], oscore: o.a }));
		if (r === null) return;
		wireProtected(o, t, CODE_POST, false);
		expect(t, r, CODE_PRECONDITION_FAILED, [], null);
	},
	// 11: DELETE.
	async (o, t) => {
		const r = response(t, await send(o, { ...target(o, "/oscore/test"), method: CODE_DELETE, oscore: o.a }));
		if (r === null) return;
		wireProtected(o, t, CODE_POST, false);
		expect(t, r, CODE_DELETED, [], "");
	},
	// 12: a Sender ID the server does not know.
	async (o, t) => {
		const spam = new SecurityContext({ ...plugtestParams("a"), senderId: Uint8Array.of(0x73, 0x70, 0x61, 0x6d), sequence: o.store === null ? null : { store: o.store, key: "context-a-spam" } }, o.crypto);
		const r = await send(o, { ...target(o, "/oscore/hello/1"), oscore: spam });
		const req = o.wire.messages(true)[0];
		const opt = req === undefined ? null : oscoreOption(req);
		t.check("the request carries kid 0x7370616d (\"spam\")", opt !== null && hex(req!.bytes, opt.kidOffset, opt.kidLength) === "7370616d");
		const res = unprotectedError(t, r, [CODE_UNAUTHORIZED], "4.01: security context not found");
		if (res !== null) t.note("payload: " + JSON.stringify(res.text()) + " (optional; the specification suggests \"Security context not found\")");
	},
	// 13: a wrong Sender Key (the Sender ID and sequence number are A's: only decryption fails).
	async (o, t) => {
		const r = await withWrongKey(o, "sender");
		const res = unprotectedError(t, r, [CODE_BAD_REQUEST], "4.00: decryption failed");
		if (res !== null) t.note("payload: " + JSON.stringify(res.text()) + " (optional; the specification suggests \"Decryption failed\")");
	},
	// 14: a wrong Recipient Key: the server answers, the client cannot verify.
	async (o, t) => {
		const r = await withWrongKey(o, "recipient");
		const got = o.wire.messages(false).pop();
		t.check("the server answered protected (2.04 with an OSCORE option)", got !== undefined && got.code === CODE_CHANGED && oscoreOption(got) !== null, got === undefined ? "nothing came" : outerText(got));
		const cause = r instanceof CoapError ? (r.cause as OscoreFailure | undefined) : undefined;
		t.check("the response fails verification and is not delivered (§8.4: decryption failed)", r instanceof CoapError && r.code === "COAP_OSCORE" && cause?.status === "OSCORE_DECRYPT", r instanceof CoapError ? r.code + ": " + r.message : "delivered: " + codeName(r.code));
	},
	// 15: replay.
	async (o, t) => {
		// Two requests: the first may meet a server that lost its replay window (Appendix B.1.2:
		// 4.01 + Echo, then the request again with Echo); the second is a plain GET then, with
		// exactly the plaintext that the replay below has.
		const warm = response(t, await send(o, { ...target(o, "/oscore/hello/1"), oscore: o.a }));
		if (warm === null) return;
		const first = response(t, await send(o, { ...target(o, "/oscore/hello/1"), oscore: o.a }));
		if (first === null) return;
		expect(t, first, CODE_CONTENT, [[OPT_CONTENT_FORMAT, ""]], HELLO);
		const sent = o.wire.messages(true);
		const original = sent.length === 1 ? oscoreOption(sent[0]!) : null;
		if (original === null) {
			t.check("the second request went out once, with no Echo round (the server's window is known)", false);
			return;
		}
		const piv = original.piv;
		// Context A with its Sender Sequence Number set back to that request's (test-spec5 step 8):
		// the same plaintext under the same nonce, so the same ciphertext: a replay.
		const rewound = new SecurityContext({ ...plugtestParams("a"), senderSequenceNumber: piv }, o.crypto);
		const again = await send(o, { ...target(o, "/oscore/hello/1"), oscore: rewound });
		const replayed = o.wire.messages(true)[0];
		const same = replayed !== undefined && hex(replayed.bytes, replayed.payloadOffset, replayed.payloadLength) === hex(sent[0]!.bytes, sent[0]!.payloadOffset, sent[0]!.payloadLength);
		t.check("the request is sent again with Partial IV " + piv + " and the same ciphertext as before", replayed !== undefined && oscoreOption(replayed)?.piv === piv && same);
		const res = unprotectedError(t, again, [CODE_UNAUTHORIZED], "4.01: replay detected");
		if (res !== null) t.note("payload: " + JSON.stringify(res.text()) + " (the specification suggests \"Replay detected\")");
	},
	// 16: an OSCORE-unaware server.
	async (o, t) => {
		const r = await send(o, { ...target(o, "/oscore/hello/coap"), oscore: o.a });
		const res = unprotectedError(t, r, [CODE_BAD_OPTION, CODE_METHOD_NOT_ALLOWED], "4.02: the OSCORE option is an unrecognised critical option; 4.05 is accepted by the specification");
		if (res !== null && res.code === CODE_METHOD_NOT_ALLOWED) t.note("4.05 Method Not Allowed: accepted, as the specification's note says");
	},
	// 17: plain CoAP to a protected resource.
	async (o, t) => {
		const r = response(t, await send(o, { ...target(o, "/oscore/hello/1"), oscore: null }));
		if (r === null) return;
		t.check("the request on the wire is a plain GET", o.wire.messages(true)[0]?.code === CODE_GET && o.wire.messages(true)[0]?.find(OPT_OSCORE) === -1);
		t.check("the response is 4.01 Unauthorized, unprotected", r.code === CODE_UNAUTHORIZED, "got " + codeName(r.code));
	},
]);

/** An AES key that is not the right one (tests 13, 14: "modified key, arbitrarily set by the client"). */
function frobbed(): Uint8Array {
	const k = new Uint8Array(16);
	for (let i = 0; i < 16; i++) k[i] = 0xa5 ^ i;
	return k;
}

/** GET /oscore/hello/1 with context A whose Sender or Recipient Key is replaced by frobbed() for this one request. */
async function withWrongKey(o: PlugtestClientOptions, which: "sender" | "recipient"): Promise<ClientResponse | CoapError> {
	const saved = o.a[which];
	o.a[which] = o.crypto.aead(frobbed());
	try {
		return await send(o, { ...target(o, "/oscore/hello/1"), oscore: o.a });
	} finally {
		o.a[which].wipe();
		o.a[which] = saved;
	}
}

async function hello1(o: PlugtestClientOptions, t: Checks, ctx: SecurityContext, kidContext: boolean): Promise<void> {
	const r = response(t, await send(o, { ...target(o, "/oscore/hello/1"), oscore: ctx }));
	if (r === null) return;
	wireProtected(o, t, CODE_POST, kidContext);
	expect(t, r, CODE_CONTENT, [[OPT_CONTENT_FORMAT, ""]], HELLO);
}

/** Tests 6 and 7: "one", "two", then 5.00 "Terminate Observe" (6) or a cancellation answered "two" (7). */
async function observeTest(o: PlugtestClientOptions, t: Checks, path: string, terminate: boolean): Promise<void> {
	o.wire.clear();
	const got: ClientResponse[] = [];
	let ended = false;
	let wake: (() => void) | null = null;
	const obs = o.endpoint.observe({ ...target(o, path), oscore: o.a, timeoutMs: o.timeoutMs ?? 15000 }, (r) => {
		got.push(r);
		wake?.();
	}, () => {
		ended = true;
		wake?.();
	});
	const want = terminate ? 3 : 2;
	const limit = 3 * (o.timeoutMs ?? 15000);
	const deadline = o.clock.now() + limit;
	while (got.length < want && !(ended && got.length > 0 && !obs.active) && o.clock.now() < deadline) {
		await new Promise<void>((resolve) => {
			wake = resolve;
			const timer = o.clock.createTimer(() => {
				timer.close();
				resolve();
			}, null);
			timer.schedule(Math.min(deadline, o.clock.now() + 500));
		});
		wake = null;
		if (ended && !obs.active) break;
	}
	const sent = o.wire.messages(true);
	const reg = sent[sent.length - 1];
	t.check("the registration on the wire is FETCH with Observe 0 and an OSCORE option (§4.1.3.5.1)", reg !== undefined && reg.code === CODE_FETCH && reg.uintOf(OPT_OBSERVE, -1) === 0 && oscoreOption(reg) !== null, reg === undefined ? "none sent" : outerText(reg));
	const first = got[0];
	if (!t.check("a first response came", first !== undefined, ended ? "the observation ended without one" : "none within " + limit + " ms")) {
		await obs.cancel();
		return;
	}
	t.check("the first response is 2.05 with Observe, text/plain \"one\"", first.code === CODE_CONTENT && first.option(OPT_OBSERVE) !== undefined && first.contentFormat === FORMAT_TEXT && first.text() === "one", codeName(first.code) + " " + JSON.stringify(first.text()));
	const second = got[1];
	t.check("a notification 2.05 with Observe, text/plain \"two\"", second !== undefined && second.code === CODE_CONTENT && second.option(OPT_OBSERVE) !== undefined && second.contentFormat === FORMAT_TEXT && second.text() === "two", second === undefined ? "none came" : codeName(second.code) + " " + JSON.stringify(second.text()));
	const notes = o.wire.messages(false).filter((v) => v.find(OPT_OBSERVE) >= 0);
	if (notes.length >= 2) {
		const opt = oscoreOption(notes[1]!);
		t.check("the notification on the wire is 2.05 with Observe and an OSCORE option with a Partial IV of its own (§4.1.3.5.2)", notes[1]!.code === CODE_CONTENT && opt !== null && opt.pivLength > 0, outerText(notes[1]!));
	}
	if (terminate) {
		const third = got[2];
		t.check("then 5.00 Internal Server Error, text/plain \"Terminate Observe\"", third !== undefined && third.code === CODE_INTERNAL_SERVER_ERROR && third.contentFormat === FORMAT_TEXT && third.text() === "Terminate Observe", third === undefined ? "none came" : codeName(third.code) + " " + JSON.stringify(third.text()));
		t.check("which ends the observation", !obs.active);
		if (obs.active) await obs.cancel();
		return;
	}
	o.wire.clear();
	const outcome = await obs.cancel();
	const cancel = o.wire.messages(true)[0];
	t.check("the cancellation on the wire is FETCH with Observe 1 and an OSCORE option", cancel !== undefined && cancel.code === CODE_FETCH && cancel.uintOf(OPT_OBSERVE, -1) === 1 && oscoreOption(cancel) !== null, cancel === undefined ? "none sent" : outerText(cancel));
	t.check("the server answered the cancellation", outcome === null, outcome === null ? "" : outcome.code + ": " + outcome.message);
	const c = obs.cancelResponse;
	t.check("its answer is 2.05, text/plain \"two\" (the current state)", c !== null && c.code === CODE_CONTENT && c.text() === "two", c === null ? "none" : codeName(c.code) + " " + JSON.stringify(c.text()));
}
