/**
 * OSCORE credentials files in aiocoap's JSON format (hosts/node/credentials.ts) and
 * `--credentials` on the command line: what a valid file yields (patterns, labels, references,
 * one context per directory), the sequence number kept in aiocoap's sequence.json, one clear
 * line naming the file and the key for every kind of mistake, and `xscoap serve --credentials`
 * answering `xscoap get --credentials` protected over real UDP (a wrong secret fails).
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CredentialsError, loadContextDirectory, loadCredentials } from "../../hosts/node/credentials.js";
import { nobleCrypto } from "../../modules/coap/oscore/noble.js";
import { Child, ROOT, XSCOAP, killAll, xscoap } from "./helpers.js";

let tmp = "";

/** Writes `files` (name → JSON value or text) under tmp/`dir`; returns the directory. */
function dir(name: string, files: Record<string, unknown>): string {
	const d = join(tmp, name);
	mkdirSync(d, { recursive: true });
	for (const [f, v] of Object.entries(files)) writeFileSync(join(d, f), typeof v === "string" ? v : JSON.stringify(v));
	return d;
}

function file(name: string, value: unknown): string {
	const f = join(tmp, name);
	writeFileSync(f, typeof value === "string" ? value : JSON.stringify(value));
	return f;
}

const CLIENT_SETTINGS = { "sender-id_hex": "02", "recipient-id_hex": "01", secret_ascii: "a shared secret!", salt_hex: "9e7ca92223786340" };
const SERVER_SETTINGS = { "sender-id_hex": "01", "recipient-id_hex": "02", secret_ascii: "a shared secret!", salt_hex: "9e7ca92223786340" };

/** The CredentialsError message of `fn` (fails when it does not throw one). */
function errorOf(fn: () => unknown): string {
	try {
		fn();
	} catch (e) {
		assert.ok(e instanceof CredentialsError, "a CredentialsError: " + String(e));
		assert.ok(!e.message.includes("\n"), "one line: " + e.message);
		return e.message;
	}
	assert.fail("no error");
}

describe("OSCORE credentials files (aiocoap's format)", function () {
	this.timeout(30000);
	before(() => {
		tmp = mkdtempSync(join(tmpdir(), "xscoap-cred-"));
	});
	after(() => {
		killAll();
		if (tmp) rmSync(tmp, { recursive: true, force: true });
	});

	it("URI patterns, :labels and references to them; one context per directory; secret.json and settings.json together", () => {
		const a = dir("ok-a", { "settings.json": { "sender-id_hex": "02", "recipient-id_ascii": "srv" }, "secret.json": { secret_hex: "0102030405060708090a0b0c0d0e0f10", "id-context_hex": "37cbf3210017a2d3" } });
		const b = dir("ok-b", { "settings.json": { ...CLIENT_SETTINGS, algorithm: "AES-CCM-16-64-128", "kdf-hashfun": "sha256", window: 64 } });
		const f = file("ok.json", { "coap://h1/*": { oscore: { basedir: a + "/" } }, "coap://h2/*": ":b", ":b": { oscore: { basedir: b } }, "coap://h3/*": ":alias", ":alias": ":b", "coap://gone/*": null });
		const c = loadCredentials(f, nobleCrypto);
		assert.deepEqual(Object.keys(c.client).sort(), ["coap://h1/*", "coap://h2/*", "coap://h3/*"]);
		assert.equal(c.contexts.length, 2);
		assert.equal(c.client["coap://h2/*"], c.labels[":b"]);
		assert.equal(c.client["coap://h3/*"], c.labels[":b"]);
		const ctx = c.client["coap://h1/*"]!;
		assert.equal(Buffer.from(ctx.recipientId).toString(), "srv");
		assert.equal(Buffer.from(ctx.idContext.subarray(0, ctx.idContextLength)).toString("hex"), "37cbf3210017a2d3");
		assert.equal(c.labels[":b"]!.label, "b");
		assert.equal(c.labels[":b"]!.replay.stateBytes > c.client["coap://h1/*"]!.replay.stateBytes, true, "window 64");
	});

	it("the sequence number lives in the directory's sequence.json (aiocoap's format): a number written there by aiocoap is never reused, and xscoap writes it ahead before using numbers", () => {
		const d = dir("seq", { "settings.json": CLIENT_SETTINGS, "sequence.json": { "next-to-send": 1000, received: [12, 0] } });
		const ctx = loadContextDirectory(d, nobleCrypto);
		assert.ok(ctx.sequence.restored, "a context that ran before: its replay window counts as lost (B.1.2)");
		const first = ctx.sequence.next();
		assert.ok(first >= 1000, "starts past aiocoap's next-to-send: " + first);
		const stored = JSON.parse(readFileSync(join(d, "sequence.json"), "utf8"));
		assert.equal(stored.received, "unknown");
		assert.ok(stored["next-to-send"] > first, "every number used is below next-to-send (aiocoap reads it so)");
		for (let i = 0; i < 200; i++) ctx.sequence.next();
		const later = JSON.parse(readFileSync(join(d, "sequence.json"), "utf8"))["next-to-send"];
		assert.ok(later > ctx.sequence.peek - 1, "still ahead after 200 more: " + later);
		const again = loadContextDirectory(d, nobleCrypto);
		assert.ok(again.sequence.peek > ctx.sequence.peek - 1, "a restart continues above every number used");
		// A fresh directory: the context stores its start at once (B.1.2 needs to know it ran).
		const fresh = dir("fresh", { "settings.json": CLIENT_SETTINGS });
		assert.equal(loadContextDirectory(fresh, nobleCrypto).sequence.restored, false);
		assert.equal(JSON.parse(readFileSync(join(fresh, "sequence.json"), "utf8"))["next-to-send"] > 0, true);
		assert.equal(loadContextDirectory(fresh, nobleCrypto).sequence.restored, true);
	});

	it("every mistake is one line that names the file and the key", () => {
		const good = dir("good", { "settings.json": CLIENT_SETTINGS });
		const cases: [string, () => unknown, RegExp][] = [
			["not JSON", () => loadCredentials(file("c1.json", "{ nope"), nobleCrypto), /c1\.json: not valid JSON/],
			["not an object", () => loadCredentials(file("c2.json", [1]), nobleCrypto), /c2\.json: a credentials file is a JSON object/],
			["a missing file", () => loadCredentials(join(tmp, "absent.json"), nobleCrypto), /absent\.json: cannot read: no such file/],
			["dtls", () => loadCredentials(file("c3.json", { "coaps://h/*": { dtls: { psk: "x" } } }), nobleCrypto), /c3\.json: "coaps:\/\/h\/\*": credential type "dtls" is not supported by xscoap/],
			["unknown type", () => loadCredentials(file("c4.json", { "coap://h/*": { oscar: {} } }), nobleCrypto), /c4\.json: "coap:\/\/h\/\*": unknown credential type "oscar"/],
			["two keys", () => loadCredentials(file("c5.json", { "coap://h/*": { oscore: { basedir: good }, dtls: {} } }), nobleCrypto), /exactly one key \(found oscore, dtls\)/],
			["no basedir", () => loadCredentials(file("c6.json", { "coap://h/*": { oscore: {} } }), nobleCrypto), /c6\.json: "coap:\/\/h\/\*": "oscore" needs "basedir"/],
			["extra key in oscore", () => loadCredentials(file("c7.json", { ":x": { oscore: { basedir: good, sequence: 3 } } }), nobleCrypto), /c7\.json: ":x": unknown key "sequence" in "oscore"/],
			["dangling reference", () => loadCredentials(file("c8.json", { "coap://h/*": ":nobody" }), nobleCrypto), /c8\.json: "coap:\/\/h\/\*": refers to ":nobody", which the file does not define/],
			["circular references", () => loadCredentials(file("c9.json", { "coap://h/*": ":a", ":a": ":b", ":b": ":a" }), nobleCrypto), /go round in a circle/],
			["a reference without colon", () => loadCredentials(file("c10.json", { "coap://h/*": "other" }), nobleCrypto), /a reference must start with ':'/],
			["a missing directory", () => loadCredentials(file("c11.json", { ":x": { oscore: { basedir: join(tmp, "nodir") } } }), nobleCrypto), /c11\.json: ":x": "basedir" \S*nodir: no such OSCORE context directory/],
			["a basedir that is a file", () => loadCredentials(file("c11b.json", { "coap://h/*": { oscore: { basedir: file("plain-file", "x") } } }), nobleCrypto), /c11b\.json: "coap:\/\/h\/\*": "basedir" \S*plain-file: not a directory/],
			["an empty directory", () => loadContextDirectory(dir("empty", {}), nobleCrypto), /empty: neither settings\.json nor secret\.json/],
			["an unknown key", () => loadContextDirectory(dir("k1", { "settings.json": { ...CLIENT_SETTINGS, "sender_id_hex": "01" } }), nobleCrypto), /k1\/settings\.json: unknown key "sender_id_hex"/],
			["a byte key without _hex", () => loadContextDirectory(dir("k2", { "settings.json": { ...CLIENT_SETTINGS, salt: "00" } }), nobleCrypto), /k2\/settings\.json: unknown key "salt" \(byte strings are written salt_hex or salt_ascii\)/],
			["bad hex", () => loadContextDirectory(dir("k3", { "settings.json": { ...CLIENT_SETTINGS, "sender-id_hex": "0g" } }), nobleCrypto), /k3\/settings\.json: "sender-id_hex": "0g" is not an even number of hex digits/],
			["hex as a number", () => loadContextDirectory(dir("k4", { "settings.json": { ...CLIENT_SETTINGS, "sender-id_hex": 2 } }), nobleCrypto), /k4\/settings\.json: "sender-id_hex": must be a string of hex digits/],
			["non-ASCII", () => loadContextDirectory(dir("k5", { "settings.json": { ...CLIENT_SETTINGS, secret_ascii: "sécret" } }), nobleCrypto), /k5\/settings\.json: "secret_ascii": not ASCII/],
			["no secret", () => loadContextDirectory(dir("k6", { "settings.json": { "sender-id_hex": "01", "recipient-id_hex": "02" } }), nobleCrypto), /k6\/settings\.json: secret is missing/],
			["an 8-byte ID", () => loadContextDirectory(dir("k7", { "settings.json": { ...CLIENT_SETTINGS, "sender-id_hex": "0102030405060708" } }), nobleCrypto), /k7\/settings\.json: "sender-id_hex": 8 bytes; an ID is at most 7 bytes/],
			["equal IDs", () => loadContextDirectory(dir("k8", { "settings.json": { ...CLIENT_SETTINGS, "recipient-id_hex": "02" } }), nobleCrypto), /k8\/settings\.json: sender-id and recipient-id must differ/],
			["in both files", () => loadContextDirectory(dir("k9", { "settings.json": CLIENT_SETTINGS, "secret.json": { secret_hex: "00" } }), nobleCrypto), /k9\/settings\.json: "secret_ascii": secret is given in .*k9\/secret\.json already/],
			["another algorithm", () => loadContextDirectory(dir("k10", { "settings.json": { ...CLIENT_SETTINGS, algorithm: "A128GCM" } }), nobleCrypto), /k10\/settings\.json: "algorithm": "A128GCM" is not supported/],
			["another hash", () => loadContextDirectory(dir("k11", { "settings.json": { ...CLIENT_SETTINGS, "kdf-hashfun": "sha512" } }), nobleCrypto), /k11\/settings\.json: "kdf-hashfun": "sha512" is not supported/],
			["a window of 10", () => loadContextDirectory(dir("k12", { "settings.json": { ...CLIENT_SETTINGS, window: 10 } }), nobleCrypto), /k12\/settings\.json: "window": 10 must be a multiple of 32/],
			["settings not an object", () => loadContextDirectory(dir("k13", { "settings.json": "[]" }), nobleCrypto), /k13\/settings\.json: must be a JSON object/],
			["a corrupt sequence.json", () => loadContextDirectory(dir("k14", { "settings.json": CLIENT_SETTINGS, "sequence.json": { "next-to-send": "many" } }), nobleCrypto), /k14\/sequence\.json: "next-to-send" must be a whole number/],
		];
		for (const [what, fn, pattern] of cases) assert.match(errorOf(fn), pattern, what);
	});

	it("xscoap serve --credentials answers xscoap get --credentials protected; a wrong secret fails with the server's unprotected 4.00; a bad file is a usage error", async () => {
		const srv = dir("srv", { "settings.json": SERVER_SETTINGS });
		const cli = dir("cli", { "settings.json": CLIENT_SETTINGS });
		// Its sequence numbers above the right client's, so the server's replay window lets them
		// pass (§7.4 checks before decrypting) and decryption is what fails.
		const wrong = dir("wrong", { "settings.json": { ...CLIENT_SETTINGS, secret_ascii: "not the secret!!" }, "sequence.json": { "next-to-send": 100000 } });
		const serverFile = file("server.json", { ":client": { oscore: { basedir: srv } } });
		const child = new Child(process.execPath, [XSCOAP, "serve", "--bind", "127.0.0.1:0", "--credentials", serverFile]);
		const m = await child.waitFor(/listening on coap:\/\/127\.0\.0\.1:(\d+)\/.*OSCORE with 1 context/);
		const base = "coap://127.0.0.1:" + m[1];
		const clientFile = file("client.json", { [base + "/*"]: { oscore: { basedir: cli } } });
		const wrongFile = file("wrong.json", { [base + "/*"]: { oscore: { basedir: wrong } } });
		try {
			const ok = await xscoap(["get", base + "/hello", "--credentials", clientFile, "-v"]);
			assert.equal(ok.code, 0, ok.stderr);
			assert.equal(ok.stdout, "Hello, world!");
			assert.match(ok.stderr, /^-> .* CON POST .*\[ OSCORE:0x[0-9a-f]+ \]/m, "sent protected");
			assert.match(ok.stderr, /^<- .* ACK 2\.04 Changed .*\[ OSCORE:0x \]/m, "answered protected");
			const echo = await xscoap(["post", base + "/echo", "--credentials", clientFile, "--payload", "x".repeat(3000)]);
			assert.equal(echo.code, 0, echo.stderr);
			assert.equal(echo.stdout, "x".repeat(3000), "block-wise both ways inside OSCORE");
			const bad = await xscoap(["get", base + "/hello", "--credentials", wrongFile]);
			assert.equal(bad.code, 1, bad.stderr);
			assert.equal(bad.stdout, "");
			assert.match(bad.stderr, /^error: COAP_OSCORE: the server answered 4\.00 Bad Request without OSCORE protection: Decryption failed$/m);
			const plain = await xscoap(["get", base + "/hello"]);
			assert.equal(plain.stdout, "Hello, world!", "the demo resources answer unprotected requests too");
			const broken = await xscoap(["get", base + "/hello", "--credentials", file("broken.json", { [base + "/*"]: { oscore: { basedir: join(tmp, "nowhere") } } })]);
			assert.equal(broken.code, 2);
			assert.match(broken.stderr, /^error: --credentials .*nowhere: no such OSCORE context directory/);
		} finally {
			await child.stop();
		}
	});

	it("xscoap fileserver --write --credentials: reads answer both, protected inside OSCORE; PUT and DELETE only inside OSCORE (4.01 otherwise)", async () => {
		const srv = dir("fs-srv", { "settings.json": SERVER_SETTINGS });
		const cli = dir("fs-cli", { "settings.json": CLIENT_SETTINGS });
		const files = dir("fs-files", { "a.txt": "file a\n" });
		const serverFile = file("fs-server.json", { ":client": { oscore: { basedir: srv } } });
		const child = new Child(process.execPath, [XSCOAP, "fileserver", files, "--write", "--bind", "127.0.0.1:0", "--credentials", serverFile]);
		const m = await child.waitFor(/listening on coap:\/\/127\.0\.0\.1:(\d+)\//);
		const base = "coap://127.0.0.1:" + m[1];
		const clientFile = file("fs-client.json", { [base + "/*"]: { oscore: { basedir: cli } } });
		try {
			const plainGet = await xscoap(["get", base + "/a.txt"]);
			assert.equal(plainGet.stdout, "file a\n", plainGet.stderr);
			const get = await xscoap(["get", base + "/a.txt", "--credentials", clientFile, "-v"]);
			assert.equal(get.code, 0, get.stderr);
			assert.equal(get.stdout, "file a\n");
			assert.match(get.stderr, /^<- .* 2\.04 Changed .*\[ OSCORE:0x \]/m, "answered protected (RFC 8613 §4.2: the outer code of a response to the outer POST is 2.04)");
			const plainPut = await xscoap(["put", base + "/b.txt", "--payload", "plain"]);
			assert.equal(plainPut.code, 1);
			assert.match(plainPut.stderr, /4\.01 Unauthorized.*OSCORE required/);
			assert.equal(existsSync(join(files, "b.txt")), false, "nothing written by the unprotected PUT");
			const put = await xscoap(["put", base + "/b.txt", "--payload", "protected", "--credentials", clientFile]);
			assert.equal(put.code, 0, put.stderr);
			assert.equal(readFileSync(join(files, "b.txt"), "utf8"), "protected");
			const plainDelete = await xscoap(["delete", base + "/b.txt"]);
			assert.match(plainDelete.stderr, /4\.01 Unauthorized/);
			assert.equal(existsSync(join(files, "b.txt")), true, "not deleted by the unprotected DELETE");
			const del = await xscoap(["delete", base + "/b.txt", "--credentials", clientFile]);
			assert.equal(del.code, 0, del.stderr);
			assert.equal(existsSync(join(files, "b.txt")), false);
		} finally {
			await child.stop();
		}
	});

	it("a --state directory that cannot be made (/proc/x/y on Linux, where Node's recursive mkdir loops forever) is a one-line error, not a hang", async function () {
		if (process.platform !== "linux") this.skip();
		const r = await xscoap(["device", "examples/sensor", "--state", "/proc/x/y", "--bind", "127.0.0.1:0"], { timeoutMs: 10000 });
		assert.equal(r.code, 2, r.stderr);
		assert.match(r.stderr, /^error: --state \/proc\/x\/y: ENOENT[^\n]*\n$/);
	});

	it("xscoap device examples/sensor with config.sensor.oscore: provisioned into --state as on the device; the LED needs OSCORE, the sensors do not; a restart without the config keeps the context", async () => {
		// A copy of the example's manifest whose config.sensor.oscore is the server side of SERVER_SETTINGS.
		const exampleDir = join(tmp, "dev", "sensor");
		mkdirSync(exampleDir, { recursive: true });
		const manifest = JSON.parse(readFileSync(join(ROOT, "examples/sensor/manifest.json"), "utf8")) as { include: string[]; config: { sensor: Record<string, unknown> } };
		manifest.include = [join(ROOT, "manifest.json")];
		const withKey = { ...manifest, config: { ...manifest.config, sensor: { ...manifest.config.sensor, oscore: SERVER_SETTINGS } } };
		writeFileSync(join(exampleDir, "manifest.json"), JSON.stringify(withKey));
		const state = join(tmp, "dev-state");
		const cli = dir("dev-cli", { "settings.json": CLIENT_SETTINGS });
		const start = async (): Promise<{ child: Child; base: string; clientFile: string }> => {
			const child = new Child(process.execPath, [XSCOAP, "device", exampleDir, "--bind", "127.0.0.1:0", "--state", state]);
			const m = await child.waitFor(/listening on coap:\/\/127\.0\.0\.1:(\d+)\/.*OSCORE: \/actuators\/led requires it/);
			const base = "coap://127.0.0.1:" + m[1];
			return { child, base, clientFile: file("dev-client.json", { [base + "/*"]: { oscore: { basedir: cli } } }) };
		};
		let run = await start();
		try {
			const plainPut = await xscoap(["put", run.base + "/actuators/led", "--payload", "1"]);
			assert.equal(plainPut.code, 1);
			assert.match(plainPut.stderr, /4\.01 Unauthorized/);
			const temp = await xscoap(["get", run.base + "/sensors/temperature"]);
			assert.match(temp.stdout, /^\d+\.\d\d$/, "the sensors answer without OSCORE: " + temp.stderr);
			const put = await xscoap(["put", run.base + "/actuators/led", "--payload", "1", "--credentials", run.clientFile]);
			assert.equal(put.code, 0, put.stderr);
			assert.equal((await xscoap(["get", run.base + "/actuators/led", "--credentials", run.clientFile])).stdout, "1");
		} finally {
			await run.child.stop();
		}
		assert.match(readFileSync(join(state, "osc-seq"), "utf8"), /^\d+$/, "the device's sequence mark is in its store");
		// The firmware rebuilt without the key: the stored context stays; the first request after the restart is answered 4.01 + Echo and repeated.
		writeFileSync(join(exampleDir, "manifest.json"), JSON.stringify(manifest));
		run = await start();
		try {
			const get = await xscoap(["get", run.base + "/actuators/led", "--credentials", run.clientFile, "-v"]);
			assert.equal(get.code, 0, get.stderr);
			assert.equal(get.stdout, "0", "the LED starts off");
			assert.equal((get.stderr.match(/^-> .* CON POST /gm) ?? []).length, 2, "the request and its repeat with Echo: " + get.stderr);
			assert.equal((await xscoap(["put", run.base + "/actuators/led", "--payload", "1"])).code, 1, "still 4.01 without OSCORE");
		} finally {
			await run.child.stop();
		}
	});
});
