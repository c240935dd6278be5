// What npm run firmware checks over real UDP on loopback against the sensor example, whichever
// host runs it (the firmware in the simulator, or `xscoap device examples/sensor` on Node):
// discovery, the sensors, the LED, Observe, Block2 and Block1, 1,000 GETs in a row, a second
// client at the same time. Peers: libcoap's coap-client-notls, aiocoap's client when its
// checkout is found, and xscoap's own Node client. Each check returns { name, ok, detail }.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The aiocoap checkout (../aiocoap beside the project, or $AIOCOAP), or undefined. */
export function findAiocoap(repo) {
	for (const dir of [process.env.AIOCOAP, resolve(repo, "../aiocoap"), resolve(repo, "../../aiocoap")]) {
		if (dir && existsSync(join(dir, "aiocoap-client"))) return dir;
	}
	return undefined;
}

/** Runs a command with a time limit; resolves to { code, out } (stdout + stderr). */
function run(cmd, args, ms, env = process.env) {
	return new Promise((done) => {
		const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env });
		let out = "";
		child.stdout.on("data", (d) => (out += d));
		child.stderr.on("data", (d) => (out += d));
		const timer = setTimeout(() => child.kill("SIGINT"), ms);
		child.on("error", (e) => {
			clearTimeout(timer);
			done({ code: -1, out: String(e) });
		});
		child.on("exit", (code) => {
			clearTimeout(timer);
			done({ code, out });
		});
	});
}

/** coap-client-notls with `args`, its output (payloads are printed without separators). */
const coapClient = (args, ms = 15000) => run("coap-client-notls", ["-B", String(Math.ceil(ms / 1000)), ...args], ms + 2000);

export class Checks {
	/**
	 * @param {object} o
	 * @param {number} o.port the device's CoAP port on 127.0.0.1
	 * @param {string} o.repo the repository (for build/ and aiocoap)
	 * @param {(label: string) => Promise<void>} [o.checkpoint] called after 100 and 1,000 GETs
	 */
	constructor({ port, repo, checkpoint }) {
		this.port = port;
		this.repo = repo;
		this.checkpoint = checkpoint ?? (async () => {});
		this.results = [];
		this.uri = (path) => "coap://127.0.0.1:" + port + path;
		this.aiocoap = findAiocoap(repo);
		this.requests = 0;
	}

	record(name, ok, detail = "") {
		this.results.push({ name, ok, detail });
		return ok;
	}

	async open() {
		const { openEndpoint } = await import(join(this.repo, "build/hosts/node/ports.js"));
		this.client = await openEndpoint({ address: "127.0.0.1" });
		this.client2 = await openEndpoint({ address: "127.0.0.1" });
	}

	close() {
		this.client?.close();
		this.client2?.close();
	}

	async get(path, o = {}, client = this.client) {
		this.requests++;
		return client.request({ uri: this.uri(path), timeoutMs: 20000, ...o });
	}

	async wellKnown() {
		const r = await this.get("/.well-known/core");
		const links = r.text().split(",");
		const paths = links.map((l) => /^<([^>]*)>/.exec(l)?.[1]);
		const want = ["/sensors/temperature", "/sensors/humidity", "/actuators/led", "/device", "/device/note"];
		return this.record("GET /.well-known/core (xscoap client): 2.05 link-format with the 5 resources", r.codeText === "2.05" && r.contentFormat === 40 && want.every((p) => paths.includes(p)) && /<\/sensors\/temperature>[^,]*;obs/.test(r.text()), r.codeText + " " + paths.join(" "));
	}

	async sensors() {
		const t = await this.get("/sensors/temperature");
		const h = await this.get("/sensors/humidity");
		const okT = t.codeText === "2.05" && /^\d+\.\d\d$/.test(t.text()) && t.maxAge === 5;
		const okH = h.codeText === "2.05" && /^\d+\.\d\d$/.test(h.text());
		this.record("GET /sensors/temperature and /sensors/humidity (xscoap client): 2.05 text, Max-Age 5", okT && okH, t.text() + " °C, " + h.text() + " %RH");
		const lt = await coapClient(["-m", "get", this.uri("/sensors/temperature")]);
		const lh = await coapClient(["-m", "get", this.uri("/sensors/humidity")]);
		this.requests += 2;
		this.record("GET temperature and humidity (libcoap coap-client)", lt.code === 0 && /^\d+\.\d\d$/.test(lt.out.trim()) && /^\d+\.\d\d$/.test(lh.out.trim()), lt.out.trim() + " °C, " + lh.out.trim() + " %RH");
		if (this.aiocoap) {
			const a = await run("python3", [join(this.aiocoap, "aiocoap-client"), this.uri("/sensors/temperature")], 20000, { ...process.env, PYTHONPATH: this.aiocoap });
			this.requests++;
			this.record("GET temperature (aiocoap-client)", a.code === 0 && /^\d+\.\d\d\s*$/.test(a.out.trim().split("\n").pop() ?? ""), a.out.trim().split("\n").pop());
		}
	}

	async led() {
		const steps = [];
		const put = async (v) => {
			const r = await coapClient(["-m", "put", "-e", v, this.uri("/actuators/led")]);
			this.requests++;
			return r;
		};
		const getLed = async () => (await this.get("/actuators/led")).text();
		await put("on");
		steps.push(await getLed());
		await put("0");
		steps.push(await getLed());
		const bad = await this.get("/actuators/led", { method: "PUT", payload: "blink" });
		steps.push(bad.codeText);
		steps.push(await getLed());
		return this.record('PUT then GET /actuators/led (libcoap PUT "on"/"0", xscoap GET; "blink" → 4.00)', steps.join(",") === "1,0,4.00,0", steps.join(", "));
	}

	/** Observe for 6 s with coap-client -s 6 (and aiocoap --observe): at least 2 notifications. */
	async observe() {
		const l = await coapClient(["-s", "6", "-m", "get", this.uri("/sensors/temperature")], 9000);
		this.requests++;
		const values = l.out.match(/\d+\.\d\d/g) ?? [];
		this.record("Observe /sensors/temperature, libcoap `coap-client -s 6`: at least 2 values in 6 s", values.length >= 2, values.length + " values: " + values.join(" "));
		const notes = [];
		const obs = this.client.observe({ uri: this.uri("/sensors/temperature") }, (n) => notes.push(Date.now()));
		const start = Date.now();
		await sleep(6000);
		await obs.cancel().catch(() => {});
		this.requests++;
		const gaps = notes.slice(1).map((t, i) => t - notes[i]);
		this.record("Observe, xscoap client for 6 s: at least 2 notifications, none further apart than Max-Age (5 s)", notes.length >= 2 && gaps.every((g) => g <= 5500), notes.length + " notifications at " + notes.map((t) => ((t - start) / 1000).toFixed(1) + " s").join(", "));
		if (this.aiocoap) {
			const a = await run("python3", [join(this.aiocoap, "aiocoap-client"), "--observe", this.uri("/sensors/temperature")], 6000, { ...process.env, PYTHONPATH: this.aiocoap });
			this.requests++;
			const v = a.out.match(/\d+\.\d\d/g) ?? [];
			this.record("Observe, aiocoap-client --observe for 6 s: at least 2 values", v.length >= 2, v.length + " values: " + v.join(" "));
		}
	}

	async blockwise(expectedName) {
		const whole = await this.get("/device");
		let ok = false;
		let detail = whole.codeText + ", " + whole.payload.length + " bytes";
		try {
			const d = JSON.parse(whole.text());
			ok = whole.codeText === "2.05" && whole.payload.length > 1024 && d.name === expectedName && Array.isArray(d.resources);
		} catch (e) {
			detail += ": " + e.message;
		}
		this.record("Block2: GET /device (xscoap client, 1024-byte blocks): the JSON description, " + (whole.payload.length > 1024 ? "more than one block" : "ONE block only"), ok, detail);
		const small = await coapClient(["-b", "64", "-m", "get", this.uri("/device")]);
		this.requests += Math.ceil(whole.payload.length / 64);
		this.record("Block2: GET /device with libcoap `coap-client -b 64` (" + Math.ceil(whole.payload.length / 64) + " blocks): same body", small.out.trim() === whole.text(), small.out.length + " bytes");
		let note = "";
		while (note.length < 200) note += "Room 3.14, north wall, 1.8 m above the floor. ";
		note = note.slice(0, 200);
		const put = await coapClient(["-b", "64", "-m", "put", "-t", "text/plain", "-e", note, this.uri("/device/note")]);
		this.requests += 4;
		const back = await this.get("/device/note", { blockSize: 64 });
		this.record("Block1: PUT /device/note, 200 bytes with libcoap `coap-client -b 64` (4 blocks), then GET (xscoap, Block2 64): same text", put.code === 0 && back.text() === note, back.codeText + ", " + back.payload.length + " bytes");
		const mine = "xscoap block-wise note " + "x".repeat(150);
		const p2 = await this.get("/device/note", { method: "PUT", payload: mine, blockSize: 32 });
		const back2 = await coapClient(["-m", "get", this.uri("/device/note")]);
		this.requests++;
		this.record("Block1: PUT /device/note with the xscoap client (32-byte blocks), GET with libcoap", p2.codeText === "2.04" && back2.out.trim() === mine, p2.codeText);
		const tooLong = await this.get("/device/note", { method: "PUT", payload: "y".repeat(300), blockSize: 64 });
		this.record("Block1: a 300-byte note (more than noteBytes 256) → 4.13 with Size1 256", tooLong.codeText === "4.13" && tooLong.optionUint(60) === 256, tooLong.codeText + " Size1=" + tooLong.optionUint(60));
	}

	/** 1,000 confirmable GETs one after the other, all answered 2.05; checkpoints after 100 and 1,000. */
	async thousand() {
		let answered = 0;
		const failures = [];
		const started = Date.now();
		for (let i = 1; i <= 1000; i++) {
			try {
				const r = await this.get(i % 2 ? "/sensors/temperature" : "/actuators/led");
				if (r.codeText === "2.05") answered++;
				else failures.push(i + ": " + r.codeText);
			} catch (e) {
				failures.push(i + ": " + e.message);
			}
			if (i === 100) await this.checkpoint("after 100 GETs");
		}
		const seconds = (Date.now() - started) / 1000;
		this.record("1,000 GETs in a row (CON, one at a time, xscoap client): all answered 2.05", answered === 1000, answered + " answered" + (failures.length ? "; " + failures.slice(0, 3).join("; ") : "") + " (" + seconds.toFixed(1) + " s incl. the checkpoint)");
		await this.checkpoint("after 1,000 GETs");
		return seconds;
	}

	/** Two clients (two sockets) with a request each in flight at the same time, 20 rounds. */
	async twoClients() {
		let n = 0;
		for (let i = 0; i < 20; i++) {
			const rs = await Promise.allSettled([this.get("/sensors/temperature"), this.get("/sensors/humidity", {}, this.client2)]);
			for (const x of rs) if (x.status === "fulfilled" && x.value.codeText === "2.05") n++;
		}
		return this.record("a second client on another socket, a request from each in flight at once, 20 rounds: all answered", n === 40, n + " of 40");
	}

	async alive() {
		const r = await this.get("/sensors/temperature").catch((e) => ({ codeText: e.message }));
		return this.record("still serving at the end", r.codeText === "2.05", r.codeText);
	}
}

/** coap-client's presence (the firmware check needs libcoap's client). */
export function haveCoapClient() {
	return spawnSync("coap-client-notls", ["-h"], { encoding: "utf8" }).error === undefined;
}
