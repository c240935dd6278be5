// Child process of oscore-persistence.test.ts: protects requests in a loop with a security
// context whose sender sequence number lives in a FileStore (RFC 8613 Appendix B.1.1), and
// reports each Partial IV on stdout (one line, written synchronously) right after protecting,
// which stands for sending it. The parent kills it with SIGKILL at a random moment.
// argv: DIR K F
import { writeSync } from "node:fs";
import { FileStore } from "../../hosts/node/file-store.js";
import { RequestBinding } from "../../modules/coap/oscore/binding.js";
import { SecurityContext } from "../../modules/coap/oscore/context.js";
import { nobleCrypto } from "../../modules/coap/oscore/noble.js";
import { Oscore } from "../../modules/coap/oscore/oscore.js";
import { MessageView } from "../../modules/coap/wire/view.js";
import { MessageWriter } from "../../modules/coap/wire/writer.js";

const [dir, k, f] = process.argv.slice(2);
const ctx = new SecurityContext({
	masterSecret: new Uint8Array(16).fill(1),
	senderId: Uint8Array.of(1),
	recipientId: Uint8Array.of(2),
	sequence: { store: new FileStore(dir!), key: "sequence", k: Number(k), f: Number(f) },
}, nobleCrypto);
const oscore = new Oscore({ contexts: 0 });
const plain = new MessageWriter(new Uint8Array(256));
plain.header(0, 2, 1, null).stringOption(11, "x").payload(new Uint8Array(64).fill(0x61));
const view = new MessageView();
view.parse(plain.buf, plain.finish());
const out = new MessageWriter(new Uint8Array(256));
const binding = new RequestBinding();
writeSync(1, "start " + ctx.sequence.peek + "\n");
for (;;) {
	const n = oscore.protectRequest(view, ctx, out, binding);
	if (n < 0) {
		writeSync(2, "protect failed: " + n + "\n");
		process.exit(1);
	}
	writeSync(1, binding.piv + "\n");
}
