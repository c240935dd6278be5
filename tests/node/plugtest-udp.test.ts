/**
 * The OSCORE interop tests once over real UDP, as a user runs them: `xscoap plugtest-server`
 * and `xscoap plugtest-client` as child processes on loopback, every test of test-spec5 (16
 * against `plugtest-server --unaware`), the exit statuses, a second run with the same --state
 * directories (no sequence number reused), and the command-line errors.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Child, XSCOAP, killAll, startXscoapServer, xscoap } from "./helpers.js";

async function plugtestServer(extra: readonly string[]): Promise<{ child: Child; port: number }> {
	const child = new Child(process.execPath, [XSCOAP, "plugtest-server", "--bind", "127.0.0.1:0", ...extra]);
	const m = await child.waitFor(/listening on coap:\/\/127\.0\.0\.1:(\d+)\//);
	return { child, port: Number(m[1]) };
}

describe("xscoap plugtest-server and plugtest-client over UDP (test-spec5)", function () {
	this.timeout(120000);
	let tmp = "";
	before(() => {
		tmp = mkdtempSync(join(tmpdir(), "xscoap-plugtest-"));
	});
	after(() => {
		killAll();
		if (tmp) rmSync(tmp, { recursive: true, force: true });
	});

	it("every test passes (0..15 and 17 against the OSCORE-aware server, 16 against --unaware), twice with the same state; the server prints each request", async () => {
		const state = ["--state", join(tmp, "server")];
		let s = await plugtestServer(state);
		try {
			for (const series of [1, 2]) {
				const r = await xscoap(["plugtest-client", "127.0.0.1:" + s.port, "0-15", "17", "--state", join(tmp, "client")], { timeoutMs: 90000 });
				assert.equal(r.code, 0, "series " + series + ":\n" + r.stdout + r.stderr);
				assert.match(r.stdout, /^all 17 tests passed$/m);
				assert.equal((r.stdout.match(/^ {2}ok {4}/gm) ?? []).length > 100, true, "checks printed");
				assert.doesNotMatch(r.stdout, /FAILED/);
				if (series === 1) {
					// A restart loses the replay windows (B.1.2): the next series recovers with Echo.
					await s.child.stop();
					s = await plugtestServer(state);
					assert.match(s.child.stdout, /restarted: replay windows recovered with Echo/);
				}
			}
			assert.match(s.child.stdout, /^GET \/oscore\/hello\/1 \[Echo: 0x[0-9a-f]+\], protected with B \(kid 0x\)$/m, "the Echo round is visible in the server's log");
			assert.match(s.child.stdout, /^PUT \/oscore\/hello\/7 \[If-Match: 0x7b, Content-Format: text\/plain;charset=utf-8\] payload 0x7a, protected with B/m);
			assert.deepEqual(readdirSync(join(tmp, "client")).sort(), ["context-a", "context-a-spam", "context-c"]);
		} finally {
			await s.child.stop();
		}
		const u = await plugtestServer(["--unaware"]);
		try {
			const r = await xscoap(["plugtest-client", "127.0.0.1:" + u.port, "16", "--state", join(tmp, "client")]);
			assert.equal(r.code, 0, r.stdout + r.stderr);
			assert.match(r.stdout, /4\.02 Bad Option without OSCORE protection: unrecognised critical option OSCORE/);
		} finally {
			await u.child.stop();
		}
	});

	it("against a server that is not a plugtest server the checks fail: exit status 1, FAILED lines", async () => {
		const s = await startXscoapServer("127.0.0.1");
		try {
			const r = await xscoap(["plugtest-client", "127.0.0.1:" + s.port, "0", "1", "--state", join(tmp, "client"), "--timeout", "5"]);
			assert.equal(r.code, 1, r.stdout + r.stderr);
			assert.match(r.stdout, /^test 0: FAILED/m);
			assert.match(r.stdout, /^ {2}FAILED {2}decrypted response: 4\.04 Not Found/m);
			assert.match(r.stdout, /^2 of 2 tests FAILED$/m);
		} finally {
			await s.child.stop();
		}
	});

	it("usage errors: a test number out of range, no test number, a bad host", async () => {
		for (const [args, pattern] of [
			[["127.0.0.1", "18"], /a test number is 0\.\.17/],
			[["127.0.0.1"], /takes HOST\[:PORT\] and at least one test number/],
			[["[::1", "1"], /takes HOST\[:PORT\]/],
			[["127.0.0.1", "3-1"], /a test number is 0\.\.17/],
		] as const) {
			const r = await xscoap(["plugtest-client", ...args]);
			assert.equal(r.code, 2, r.stderr);
			assert.match(r.stderr, pattern);
		}
	});
});
