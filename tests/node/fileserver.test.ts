/**
 * `xscoap fileserver DIR` end to end, as a child process on loopback: files, listings, ETags,
 * block-wise transfers, Observe of a changing file, writes only with --write and with
 * preconditions, and confinement: "..", percent-encoded "%2e%2e" (as libcoap and aiocoap send
 * it), segments with "/" or NUL, absolute paths, symlinks leading out, FIFOs. Clients: xscoap's
 * own CLI (raw Uri-Path options through -O), libcoap's coap-client-notls and aiocoap-client.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Child, XSCOAP, findAiocoap, killAll, requireLibcoap, run, xscoap } from "./helpers.js";

interface FileServerChild {
	child: Child;
	base: string;
	port: number;
}

async function startFileServer(dir: string, ...extra: string[]): Promise<FileServerChild> {
	const child = new Child(process.execPath, [XSCOAP, "fileserver", dir, "--bind", "127.0.0.1:0", ...extra]);
	const m = await child.waitFor(/listening on coap:\/\/127\.0\.0\.1:(\d+)\//);
	const port = Number(m[1]);
	return { child, port, base: "coap://127.0.0.1:" + port };
}

/** aiocoap's client command, when aiocoap is here (helpers.ts findAiocoap). */
function aiocoapClient(): string[] | undefined {
	const dir = findAiocoap();
	return dir === undefined ? undefined : ["python3", join(dir, "aiocoap-client")];
}

describe("xscoap fileserver", function () {
	this.timeout(30000);
	let root = "";
	let outside = "";
	let ro: FileServerChild;
	let rw: FileServerChild;
	const big = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31 + 7) & 0xff));

	before(async () => {
		requireLibcoap();
		const tmp = mkdtempSync(join(tmpdir(), "xscoap-fs-"));
		root = join(tmp, "root");
		outside = join(tmp, "outside");
		mkdirSync(join(root, "sub"), { recursive: true });
		mkdirSync(outside);
		writeFileSync(join(root, "a.txt"), "hello\n");
		writeFileSync(join(root, "d.json"), '{"x":1}');
		writeFileSync(join(root, "big.bin"), big);
		writeFileSync(join(root, "sub", "s.txt"), "s");
		writeFileSync(join(root, "a b.txt"), "space");
		writeFileSync(join(outside, "secret.txt"), "secret");
		symlinkSync(join(outside, "secret.txt"), join(root, "leak.txt"));
		symlinkSync(outside, join(root, "out"));
		symlinkSync("a.txt", join(root, "alias.txt"));
		spawnSync("mkfifo", [join(root, "fifo")]);
		ro = await startFileServer(root);
		rw = await startFileServer(root, "--write");
	});

	after(async () => {
		await ro?.child.stop();
		await rw?.child.stop();
		killAll();
		if (root) rmSync(join(root, ".."), { recursive: true, force: true });
	});

	describe("reading", () => {
		it("GET a file: its bytes, Content-Format from the extension, an ETag", async () => {
			const r = await xscoap(["get", ro.base + "/a.txt", "-v"]);
			assert.equal(r.code, 0, r.stderr);
			assert.equal(r.stdout, "hello\n");
			assert.match(r.stderr, /^<- .* 2\.05 Content .*\[ ETag:0x[0-9a-f]{16}, Content-Format:text\/plain;charset=utf-8 \]/m);
			const j = await xscoap(["get", ro.base + "/d.json", "-v"]);
			assert.match(j.stderr, /Content-Format:application\/json/);
			const sp = await xscoap(["get", ro.base + "/a%20b.txt"]);
			assert.equal(sp.stdout, "space");
		});

		it("GET a large file block-wise (RFC 7959) with small and large blocks: the exact bytes", async () => {
			for (const b of ["16", "256", "1024"]) {
				const r = await xscoap(["get", ro.base + "/big.bin", "-b", b]);
				assert.equal(r.code, 0, r.stderr);
				assert.deepEqual(r.stdoutBytes, big, "block size " + b);
			}
		});

		it("a GET naming the current ETag gets 2.03 Valid without the payload (RFC 7252 §5.10.6.2)", async () => {
			const first = await xscoap(["get", ro.base + "/a.txt", "-v"]);
			const etag = /ETag:0x([0-9a-f]+)/.exec(first.stderr)![1]!;
			const again = await xscoap(["get", ro.base + "/a.txt", "-O", "ETag,0x" + etag, "-v"]);
			assert.equal(again.code, 0, again.stderr);
			assert.equal(again.stdout, "");
			assert.match(again.stderr, /^<- .* 2\.03 Valid /m);
		});

		it("GET a directory with a trailing slash: link-format, one entry per file or directory, symlinks leading out and FIFOs left out", async () => {
			const r = await xscoap(["get", ro.base + "/", "-v"]);
			assert.equal(r.code, 0, r.stderr);
			assert.match(r.stderr, /Content-Format:application\/link-format/);
			assert.equal(r.stdout, "</a%20b.txt>;ct=0;sz=5,</a.txt>;ct=0;sz=6,</alias.txt>;ct=0;sz=6,</big.bin>;ct=42;sz=5000,</d.json>;ct=50;sz=7,</sub/>;ct=40");
			const sub = await xscoap(["get", ro.base + "/sub/"]);
			assert.equal(sub.stdout, "</sub/s.txt>;ct=0;sz=1");
		});

		it("a directory without the slash, a file with one, a missing file: 4.00, 4.00, 4.04", async () => {
			const dir = await xscoap(["get", ro.base + "/sub"]);
			assert.equal(dir.code, 1);
			assert.match(dir.stderr, /^4\.00 Bad Request: a directory: add a trailing slash$/m);
			const file = await xscoap(["get", ro.base + "/a.txt/"]);
			assert.match(file.stderr, /^4\.00 Bad Request/m);
			const missing = await xscoap(["get", ro.base + "/nope.txt"]);
			assert.match(missing.stderr, /^4\.04 Not Found/m);
		});

		it("/.well-known/core names the file service (as aiocoap-fileserver)", async () => {
			const r = await xscoap(["get", ro.base + "/.well-known/core"]);
			assert.equal(r.stdout, '</>;rt="tag:chrysn@fsfe.org,2022:fileserver";obs;title="Files"');
		});
	});

	describe("nothing outside DIR", () => {
		/** A GET with raw Uri-Path segments (the URI parser would refuse them before sending). */
		const raw = (base: string, method: string, segments: string[], ...extra: string[]) => xscoap([method, base, ...segments.flatMap((s) => ["-O", "Uri-Path," + s]), ...extra]);

		for (const [what, segments, code] of [
			["..", ["..", "outside", "secret.txt"], "4.00"],
			["a .. in the middle", ["sub", "..", "..", "outside", "secret.txt"], "4.00"],
			[".", [".", "a.txt"], "4.00"],
			["a segment with /", ["sub/../../outside/secret.txt"], "4.00"],
			["an absolute path in one segment", ["0x2f6574632f706173737764"], "4.00"], // "/etc/passwd"
			["a NUL byte", ["0x612e74787400"], "4.00"], // "a.txt\0"
			["a backslash", ["0x2e2e5c6f757473696465"], "4.00"], // "..\outside"
			["an empty segment inside the path", ["", "a.txt"], "4.00"],
			["a symlink to a file outside", ["leak.txt"], "4.03"],
			["a symlink to a directory outside", ["out", "secret.txt"], "4.03"],
			["a FIFO", ["fifo"], "4.03"],
		] as const) {
			it("GET with " + what + ": " + code + ", nothing of the outside served", async () => {
				const r = await raw(ro.base, "get", [...segments]);
				assert.equal(r.code, 1, r.stderr);
				assert.ok(r.stderr.startsWith(code + " "), r.stderr);
				assert.doesNotMatch(r.stdout + r.stderr, /secret/);
			});
		}

		it("percent-encoded %2e%2e from libcoap's coap-client arrives as '..' and gets 4.00", async () => {
			const r = await run("coap-client-notls", ["-m", "get", "-B", "5", ro.base + "/%2e%2e/outside/secret.txt"]);
			assert.doesNotMatch(r.stdout, /secret/);
			assert.match(r.stdout + r.stderr, /4\.00/);
		});

		it("PUT through '..', a symlink leading out, or into a directory outside: refused, nothing written outside", async () => {
			const dots = await raw(rw.base, "put", ["..", "outside", "new.txt"], "-e", "x");
			assert.ok(dots.stderr.startsWith("4.00 "), dots.stderr);
			const link = await xscoap(["put", rw.base + "/leak.txt", "-e", "overwritten"]);
			assert.ok(link.stderr.startsWith("4.03 "), link.stderr);
			const dir = await xscoap(["put", rw.base + "/out/new.txt", "-e", "x"]);
			assert.ok(dir.stderr.startsWith("4.03 "), dir.stderr);
			const del = await xscoap(["delete", rw.base + "/leak.txt"]);
			assert.ok(del.stderr.startsWith("4.03 "), del.stderr);
			assert.equal(readFileSync(join(outside, "secret.txt"), "utf8"), "secret");
			assert.ok(!existsSync(join(outside, "new.txt")));
		});
	});

	describe("writing", () => {
		it("without --write, PUT and DELETE get 4.05 Method Not Allowed and change nothing", async () => {
			const put = await xscoap(["put", ro.base + "/x.txt", "-e", "x"]);
			assert.match(put.stderr, /^4\.05 Method Not Allowed/m);
			const del = await xscoap(["delete", ro.base + "/a.txt"]);
			assert.match(del.stderr, /^4\.05 Method Not Allowed/m);
			assert.ok(!existsSync(join(root, "x.txt")));
			assert.ok(existsSync(join(root, "a.txt")));
		});

		it("PUT creates (2.01) and replaces (2.04); If-None-Match and a wrong If-Match get 4.12; the right If-Match writes; DELETE 2.02, then 4.04", async () => {
			const file = join(root, "w.txt");
			const create = await xscoap(["put", rw.base + "/w.txt", "-e", "one", "-O", "If-None-Match", "-v"]);
			assert.equal(create.code, 0, create.stderr);
			assert.match(create.stderr, /^<- .* 2\.01 Created .*ETag:0x([0-9a-f]{16})/m);
			assert.equal(readFileSync(file, "utf8"), "one");
			const etag = /2\.01 Created .*ETag:0x([0-9a-f]{16})/.exec(create.stderr)![1]!;
			const again = await xscoap(["put", rw.base + "/w.txt", "-e", "two", "-O", "If-None-Match"]);
			assert.match(again.stderr, /^4\.12 Precondition Failed/m);
			const wrong = await xscoap(["put", rw.base + "/w.txt", "-e", "two", "-O", "If-Match,0x0011223344556677"]);
			assert.match(wrong.stderr, /^4\.12 Precondition Failed/m);
			assert.equal(readFileSync(file, "utf8"), "one");
			const right = await xscoap(["put", rw.base + "/w.txt", "-e", "two", "-O", "If-Match,0x" + etag, "-v"]);
			assert.equal(right.code, 0, right.stderr);
			assert.match(right.stderr, /^<- .* 2\.04 Changed /m);
			assert.equal(readFileSync(file, "utf8"), "two");
			const missing = await xscoap(["put", rw.base + "/missing.txt", "-e", "x", "-O", "If-Match,0x" + etag]);
			assert.match(missing.stderr, /^4\.12 Precondition Failed/m);
			assert.ok(!existsSync(join(root, "missing.txt")));
			const delWrong = await xscoap(["delete", rw.base + "/w.txt", "-O", "If-Match,0x0011223344556677"]);
			assert.match(delWrong.stderr, /^4\.12 /m);
			const del = await xscoap(["delete", rw.base + "/w.txt"]);
			assert.equal(del.code, 0, del.stderr);
			assert.ok(!existsSync(file));
			const gone = await xscoap(["delete", rw.base + "/w.txt"]);
			assert.match(gone.stderr, /^4\.04 Not Found/m);
		});

		it("PUT of a large file block-wise (Block1) writes the exact bytes; a PUT to a missing directory gets 4.04", async () => {
			const src = join(root, "..", "upload.bin");
			writeFileSync(src, big);
			const r = await xscoap(["put", rw.base + "/sub/up.bin", "-f", src, "-b", "64"]);
			assert.equal(r.code, 0, r.stderr);
			assert.deepEqual(readFileSync(join(root, "sub", "up.bin")), big);
			const nodir = await xscoap(["put", rw.base + "/nodir/x.txt", "-e", "x"]);
			assert.match(nodir.stderr, /^4\.04 Not Found/m);
		});
	});

	describe("observe", () => {
		it("a file: a notification when it changes (and its directory's listing too)", async () => {
			writeFileSync(join(root, "obs.txt"), "v1");
			const file = new Child(process.execPath, [XSCOAP, "get", ro.base + "/obs.txt", "--observe", "--count", "2"]);
			const dir = new Child(process.execPath, [XSCOAP, "get", ro.base + "/sub/", "--observe", "--count", "2"]);
			await file.waitFor(/^v1\n/);
			await dir.waitFor(/s\.txt/);
			writeFileSync(join(root, "obs.txt"), "v2 longer");
			writeFileSync(join(root, "sub", "n.txt"), "n");
			assert.equal((await file.exited).code, 0, file.stderr);
			assert.equal(file.stdout, "v1\nv2 longer\n");
			assert.equal((await dir.exited).code, 0, dir.stderr);
			assert.match(dir.stdout.split("\n")[1]!, /<\/sub\/n\.txt>;ct=0;sz=1/);
		});
	});

	describe("other clients", () => {
		it("coap-client-notls: GET block-wise, PUT from stdin, DELETE", async () => {
			const out = join(root, "..", "lc.bin");
			await run("coap-client-notls", ["-m", "get", "-b", "64", "-B", "10", "-o", out, rw.base + "/big.bin"]);
			assert.deepEqual(readFileSync(out), big);
			await run("coap-client-notls", ["-m", "put", "-B", "10", "-f", "-", rw.base + "/lc.txt"], { input: "from libcoap" });
			assert.equal(readFileSync(join(root, "lc.txt"), "utf8"), "from libcoap");
			await run("coap-client-notls", ["-m", "delete", "-B", "10", rw.base + "/lc.txt"]);
			assert.ok(!existsSync(join(root, "lc.txt")));
		});

		it("aiocoap-client: GET a listing and a large file, PUT (skipped without aiocoap)", async function () {
			const cmd = aiocoapClient();
			if (cmd === undefined) this.skip();
			const env = { timeoutMs: 20000 };
			const listing = await run(cmd![0]!, [cmd![1]!, rw.base + "/sub/"], env);
			assert.equal(listing.code, 0, listing.stderr);
			assert.match(listing.stdout, /<\/sub\/s\.txt>;ct=0;sz=1/);
			const file = await run(cmd![0]!, [cmd![1]!, rw.base + "/big.bin"], env);
			assert.deepEqual(file.stdoutBytes, big);
			const put = await run(cmd![0]!, [cmd![1]!, "-m", "PUT", "--payload", "from aiocoap", rw.base + "/aio.txt"], env);
			assert.equal(put.code, 0, put.stderr);
			assert.equal(readFileSync(join(root, "aio.txt"), "utf8"), "from aiocoap");
		});
	});
});
