// `npm run firmware` (tools/firmware/run.mjs) needs the Moddable SDK, which npm test cannot
// install: without MODDABLE it must say in one line what is missing and how to get it, and
// exit non-zero (the full check runs where the SDK is, see README "Firmware").
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

describe("npm run firmware without the Moddable SDK", function () {
	this.timeout(20000);

	it("prints one line naming the SDK and where to get it, and exits 2", () => {
		const env = { ...process.env };
		delete env.MODDABLE;
		const r = spawnSync(process.execPath, [join(ROOT, "tools/firmware/run.mjs")], { env, encoding: "utf8" });
		assert.equal(r.status, 2);
		assert.equal(r.stdout, "");
		const lines = r.stderr.trim().split("\n");
		assert.equal(lines.length, 1, r.stderr);
		assert.match(lines[0]!, /Moddable SDK/);
		assert.match(lines[0]!, /MODDABLE/);
		assert.match(lines[0]!, /github\.com\/Moddable-OpenSource\/moddable/);
	});

	it("an SDK path without the built tools is one line too", () => {
		const r = spawnSync(process.execPath, [join(ROOT, "tools/firmware/run.mjs")], { env: { ...process.env, MODDABLE: join(ROOT, "no-such-sdk") }, encoding: "utf8" });
		assert.equal(r.status, 2);
		assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
		assert.match(r.stderr, /mcconfig/);
	});
});
