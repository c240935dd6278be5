// Block1/Block2 option values (RFC 7959 §2.2): NUM/M/SZX packing, size exponents, validity
// over UDP (SZX 7 reserved, NUM up to 20 bits), and how the values look on the wire (the
// uint option is 0-3 bytes, leading zeros dropped, RFC 7252 §3.2).
import * as assert from "../../support/assert.js";
import { toHex } from "../../support/bytes.js";
import { blockMore, blockNum, blockSize, blockSzx, blockValid, blockValue, szxFor } from "../../../modules/coap/block/option.js";
import { MessageWriter } from "../../../modules/coap/wire/writer.js";
import { MessageView } from "../../../modules/coap/wire/view.js";
import { block } from "./helpers.js";

describe("block: Block option values (RFC 7959 §2.2)", () => {
	it("blockSize(szx) = 2^(szx+4): 16, 32, ..., 1024", () => {
		assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map(blockSize), [16, 32, 64, 128, 256, 512, 1024]);
	});

	it("szxFor(bytes): the largest exponent whose size fits, 0 below 32, 6 from 1024 up", () => {
		const cases: [number, number][] = [[0, 0], [15, 0], [16, 0], [31, 0], [32, 1], [63, 1], [64, 2], [100, 2], [128, 3], [255, 3], [256, 4], [511, 4], [512, 5], [1023, 5], [1024, 6], [1152, 6], [65536, 6]];
		for (const [bytes, szx] of cases) assert.equal(szxFor(bytes), szx, "szxFor(" + bytes + ")");
	});

	it("packs NUM << 4 | M << 3 | SZX and unpacks every field, up to NUM 2^20 - 1", () => {
		for (const num of [0, 1, 2, 15, 16, 255, 4095, 65535, (1 << 20) - 1]) {
			for (const more of [false, true]) {
				for (let szx = 0; szx <= 6; szx++) {
					const v = blockValue(num, more, szx);
					assert.equal(v, block(num, more, szx));
					assert.equal(blockNum(v), num);
					assert.equal(blockMore(v), more);
					assert.equal(blockSzx(v), szx);
					assert.ok(blockValid(v), "valid: " + num + "/" + more + "/" + szx);
				}
			}
		}
	});

	it("RFC 7959 §2.2 examples: 0/0/64 is 0x02, 1/1/128 is 0x1b, 2/0/1024 is 0x26", () => {
		assert.equal(blockValue(0, false, 2), 0x02);
		assert.equal(blockValue(1, true, 3), 0x1b);
		assert.equal(blockValue(2, false, 6), 0x26);
	});

	it("SZX 7 is invalid over UDP (BERT is for reliable transports, RFC 8323 §6); so is a NUM beyond 20 bits", () => {
		for (const v of [7, 0x0f, 0x17, block(5, true, 7), block((1 << 20) - 1, false, 7)]) assert.equal(blockValid(v), false, "value " + v);
		assert.equal(blockValid(block(1 << 20, false, 0)), false, "NUM 2^20 needs 21 bits");
		assert.equal(blockValid(-1), false, "absent (-1) is not a value");
		assert.equal(blockValid(0), true);
	});

	it("on the wire the value is a minimal uint: 0 → empty, 0x26 → 1 byte, NUM 255 → 2 bytes, NUM 4096 and 2^20-1 → 3 bytes", () => {
		const buf = new Uint8Array(64);
		const cases: [number, string][] = [
			[block(0, false, 0), "d00a"], // Block2: delta 23 = 13 + 10, length 0
			[block(2, false, 6), "d10a26"],
			[block(255, true, 6), "d20a0ffe"],
			[block(4096, true, 6), "d30a01000e"],
			[block((1 << 20) - 1, true, 6), "d30afffffe"],
		];
		for (const [value, wire] of cases) {
			const w = new MessageWriter(buf);
			w.header(0, 0x45, 1, null, 0, 0);
			w.uintOption(23, value);
			const n = w.finish();
			assert.equal(toHex(buf.subarray(4, n)), wire, "Block2 " + value);
			const v = new MessageView(8);
			assert.ok(v.parse(buf, n) >= 0);
			assert.equal(v.uintOf(23, -1), value, "read back");
		}
	});
});
