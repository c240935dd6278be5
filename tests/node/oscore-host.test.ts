// OSCORE on the Node host: the native AEAD (hosts/node/oscore-crypto.ts) byte-identical to the
// portable one on random inputs and on the RFC 8613 Appendix C messages; the FileStore; and
// Appendix B.1.1 under fire: a process protecting messages is SIGKILLed at random moments, over
// and over, and no sequence number is ever used twice.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { nodeCrypto } from "../../hosts/node/oscore-crypto.js";
import { FileStore } from "../../hosts/node/file-store.js";
import { AesCcm } from "../../modules/coap/oscore/ccm.js";
import { nobleCrypto } from "../../modules/coap/oscore/noble.js";
import { Oscore } from "../../modules/coap/oscore/oscore.js";
import { RequestBinding } from "../../modules/coap/oscore/binding.js";
import { SenderSequence } from "../../modules/coap/oscore/sequence.js";
import { SecurityContext } from "../../modules/coap/oscore/context.js";
import { MessageWriter } from "../../modules/coap/wire/writer.js";
import { Pair, RFC8613_VECTORS, vectorContext, viewOf } from "../portable/oscore/fixtures.js";

const CHILD = fileURLToPath(new URL("./oscore-kill-child.js", import.meta.url));

/** Deterministic pseudo-random bytes (xorshift32). */
function rng(seed: number): (n: number) => Uint8Array {
	let s = seed >>> 0 || 1;
	return (n) => {
		const b = new Uint8Array(n);
		for (let i = 0; i < n; i++) {
			s ^= s << 13;
			s ^= s >>> 17;
			s ^= s << 5;
			b[i] = s & 0xff;
		}
		return b;
	};
}

describe("oscore on Node: native aes-128-ccm parity with the portable AES-CCM", () => {
	it("2000 random keys, nonces, AADs (0..48 bytes) and plaintexts (0..300 bytes): identical ciphertexts; each opens the other's", () => {
		const r = rng(42);
		for (let i = 0; i < 2000; i++) {
			const key = r(16), nonce = r(13);
			const aad = r(r(1)[0]! % 49);
			const len = ((r(1)[0]! << 8) | r(1)[0]!) % 301;
			const data = r(len);
			const a = new Uint8Array(len + 8), b = new Uint8Array(len + 8);
			a.set(data);
			b.set(data);
			const js = new AesCcm(key), native = nodeCrypto.aead(key);
			assert.equal(js.seal(nonce, aad, aad.length, a, 0, len), len + 8);
			assert.equal(native.seal(nonce, aad, aad.length, b, 0, len), len + 8);
			assert.deepEqual(b, a, "case " + i);
			assert.equal(native.open(nonce, aad, aad.length, a, 0, len + 8), len);
			assert.equal(js.open(nonce, aad, aad.length, b, 0, len + 8), len);
			assert.deepEqual(a.subarray(0, len), data);
			assert.deepEqual(b.subarray(0, len), data);
		}
	});

	it("the native open refuses a flipped bit and zeroes the buffer", () => {
		const r = rng(7);
		const key = r(16), nonce = r(13), aad = r(10);
		const sealed = new Uint8Array(40);
		sealed.set(r(32));
		nodeCrypto.aead(key).seal(nonce, aad, aad.length, sealed, 0, 32);
		for (let bit = 0; bit < sealed.length * 8; bit += 7) {
			const t = Uint8Array.from(sealed);
			t[bit >> 3]! ^= 1 << (bit & 7);
			assert.equal(nodeCrypto.aead(key).open(nonce, aad, aad.length, t, 0, t.length), -1);
			assert.ok(t.every((x) => x === 0));
		}
	});

	it("HKDF: node:crypto and noble derive the same contexts; the Appendix C messages come out byte for byte with native crypto", () => {
		for (const name of Object.keys(RFC8613_VECTORS.contexts)) {
			const a = vectorContext(name, false, {}, nodeCrypto), b = vectorContext(name, false, {}, nobleCrypto);
			assert.deepEqual(a.commonIv, b.commonIv);
		}
		for (const m of RFC8613_VECTORS.messages.filter((x) => x.request_piv === undefined)) {
			const ctx = vectorContext(m.context, false, { senderSequenceNumber: m.sender_sequence_number ?? 0, sendKidContext: m.include_kid_context ?? false }, nodeCrypto);
			const out = new MessageWriter(new Uint8Array(256));
			const n = new Oscore({ contexts: 1 }).protectRequest(viewOf(m.unprotected), ctx, out, new RequestBinding());
			assert.equal(Buffer.from(out.buf.subarray(0, n)).toString("hex"), m.protected, m.name);
		}
	});

	it("a native client talks to a portable server and back", () => {
		const native = new SecurityContext({ masterSecret: Buffer.from("0102030405060708090a0b0c0d0e0f10", "hex"), masterSalt: Buffer.from("9e7ca92223786340", "hex"), senderId: Uint8Array.of(1), recipientId: Uint8Array.of(2) }, nodeCrypto);
		const p = new Pair({}, {}, nobleCrypto, native); // the server context is the portable one
		const plain = p.receiveRequest(p.request((w) => w.header(0, 1, 1, null).stringOption(11, "hello")) as Uint8Array);
		assert.notEqual(typeof plain, "number");
		const reply = p.receiveResponse(p.response((w) => w.header(2, 0x45, 1, null).payloadText("world")) as Uint8Array);
		assert.equal(typeof reply === "number" ? reply : Buffer.from(reply.payload()).toString(), "world");
	});
});

describe("oscore on Node: FileStore", () => {
	let dir = "";
	beforeEach(() => {
		dir = mkdtempSync(join(tmpdir(), "xscoap-store-"));
	});
	afterEach(() => rmSync(dir, { recursive: true, force: true }));

	it("reads what was written, 0 for an absent key, and leaves no temporary files", () => {
		const s = new FileStore(join(dir, "a/b"));
		const into = new Uint8Array(8);
		assert.equal(s.read("seq", into), 0);
		s.write("seq", Uint8Array.of(49, 50, 51, 0), 3);
		assert.equal(s.read("seq", into), 3);
		assert.deepEqual(into.subarray(0, 3), Uint8Array.of(49, 50, 51));
		assert.equal(readFileSync(join(dir, "a/b/seq"), "utf8"), "123");
		assert.deepEqual(readdirSync(join(dir, "a/b")), ["seq"]);
		assert.throws(() => s.read("seq", new Uint8Array(2)), RangeError);
		assert.throws(() => s.write("../x", Uint8Array.of(1), 1), RangeError);
		assert.throws(() => s.write(".hidden", Uint8Array.of(1), 1), RangeError);
	});

	it("a sequence stored in a file survives a new process's context (restart at stored + K + F)", () => {
		const store = new FileStore(dir);
		const s = new SenderSequence({ store, key: "ctx1", k: 10, f: 5 });
		for (let i = 0; i < 13; i++) s.next();
		assert.equal(readFileSync(join(dir, "ctx1"), "utf8"), "10");
		assert.equal(new SenderSequence({ store: new FileStore(dir), key: "ctx1", k: 10, f: 5 }).next(), 25);
		writeFileSync(join(dir, "bad"), "x1");
		assert.throws(() => new SenderSequence({ store, key: "bad" }), /corrupt/);
	});
});

describe("oscore on Node: Appendix B.1.1 when the process is killed at random moments", function () {
	this.timeout(120000);

	/** Runs the child until it has reported about `lines` numbers (or `ms` passed), then SIGKILLs it. */
	function runAndKill(dir: string, k: number, f: number, lines: number, ms: number): Promise<number[]> {
		return new Promise((resolve, reject) => {
			const child = spawn(process.execPath, [CHILD, dir, String(k), String(f)], { stdio: ["ignore", "pipe", "pipe"] });
			let text = "", err = "", counted = 0, killed = false;
			const kill = () => {
				if (!killed) {
					killed = true;
					child.kill("SIGKILL");
				}
			};
			const timer = setTimeout(kill, ms);
			child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
				text += chunk;
				counted += chunk.split("\n").length - 1;
				if (counted >= lines) kill();
			});
			child.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
			child.on("error", reject);
			child.on("close", (code, signal) => {
				clearTimeout(timer);
				if (signal !== "SIGKILL") return reject(new Error("child ended by itself (" + code + "): " + err));
				// Complete lines only: a line cut by the kill was never "sent".
				const complete = text.slice(0, text.lastIndexOf("\n") + 1).split("\n").filter((l) => l !== "");
				if (!complete[0]?.startsWith("start ")) return resolve([]);
				resolve(complete.slice(1).map(Number));
			});
		});
	}

	it("30 runs, each killed after a random number of messages: every Partial IV is used at most once", async () => {
		const dir = mkdtempSync(join(tmpdir(), "xscoap-kill-"));
		try {
			const r = rng(2024);
			const used = new Map<number, number>();
			let total = 0, stored = 0;
			for (let run = 0; run < 30; run++) {
				const b = r(2);
				// Mostly short runs (kills near the start and inside stores), sometimes long ones.
				const lines = run % 5 === 4 ? 100 + b[0]! : b[0]! % 40;
				const numbers = await runAndKill(dir, 6, 1, lines, 3000 + b[1]!);
				for (let i = 0; i < numbers.length; i++) {
					const n = numbers[i]!;
					assert.ok(Number.isInteger(n) && n >= 0, "run " + run + ": bad line " + n);
					assert.ok(!used.has(n), "sequence number " + n + " used in run " + used.get(n) + " and again in run " + run);
					if (i > 0) assert.ok(n > numbers[i - 1]!, "increasing within a run");
					used.set(n, run);
				}
				total += numbers.length;
				stored = Number(readFileSync(join(dir, "sequence"), "utf8") || "0");
			}
			assert.ok(total > 400, "only " + total + " messages were protected in 30 runs");
			assert.ok(stored > 0);
			assert.deepEqual(readdirSync(dir).filter((f) => f !== "sequence" && !f.startsWith("sequence.tmp-")), []);
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});
});
