// RFC 8613 Appendix C test vectors (key derivation, protected requests and responses), as
// /work/shared/vectors/rfc8613-appendix-c.json holds them (checked independently), embedded as
// a module so the portable tests read them on XS too. All byte strings are hex.

export interface VectorContext {
	readonly role: string;
	readonly master_secret: string;
	readonly master_salt: string | null;
	readonly id_context: string | null;
	readonly sender_id: string;
	readonly recipient_id: string;
	readonly sender_key: string;
	readonly recipient_key: string;
	readonly common_iv: string;
	readonly sender_nonce_piv0: string;
	readonly recipient_nonce_piv0: string;
}

export interface VectorMessage {
	readonly name: string;
	readonly context: string;
	readonly sender_sequence_number?: number;
	readonly include_kid_context?: boolean;
	readonly request_kid?: string;
	readonly request_piv?: string;
	readonly response_includes_piv?: boolean;
	readonly unprotected: string;
	readonly protected: string;
}

export const RFC8613_VECTORS: { readonly contexts: Readonly<Record<string, VectorContext>>; readonly messages: readonly VectorMessage[] } = {
	"contexts": {
		"C.1.1": {
			"role": "client",
			"master_secret": "0102030405060708090a0b0c0d0e0f10",
			"master_salt": "9e7ca92223786340",
			"id_context": null,
			"sender_id": "",
			"recipient_id": "01",
			"sender_key": "f0910ed7295e6ad4b54fc793154302ff",
			"recipient_key": "ffb14e093c94c9cac9471648b4f98710",
			"common_iv": "4622d4dd6d944168eefb54987c",
			"sender_nonce_piv0": "4622d4dd6d944168eefb54987c",
			"recipient_nonce_piv0": "4722d4dd6d944169eefb54987c"
		},
		"C.1.2": {
			"role": "server",
			"master_secret": "0102030405060708090a0b0c0d0e0f10",
			"master_salt": "9e7ca92223786340",
			"id_context": null,
			"sender_id": "01",
			"recipient_id": "",
			"sender_key": "ffb14e093c94c9cac9471648b4f98710",
			"recipient_key": "f0910ed7295e6ad4b54fc793154302ff",
			"common_iv": "4622d4dd6d944168eefb54987c",
			"sender_nonce_piv0": "4722d4dd6d944169eefb54987c",
			"recipient_nonce_piv0": "4622d4dd6d944168eefb54987c"
		},
		"C.2.1": {
			"role": "client",
			"master_secret": "0102030405060708090a0b0c0d0e0f10",
			"master_salt": null,
			"id_context": null,
			"sender_id": "00",
			"recipient_id": "01",
			"sender_key": "321b26943253c7ffb6003b0b64d74041",
			"recipient_key": "e57b5635815177cd679ab4bcec9d7dda",
			"common_iv": "be35ae297d2dace910c52e99f9",
			"sender_nonce_piv0": "bf35ae297d2dace910c52e99f9",
			"recipient_nonce_piv0": "bf35ae297d2dace810c52e99f9"
		},
		"C.3.1": {
			"role": "client",
			"master_secret": "0102030405060708090a0b0c0d0e0f10",
			"master_salt": "9e7ca92223786340",
			"id_context": "37cbf3210017a2d3",
			"sender_id": "",
			"recipient_id": "01",
			"sender_key": "af2a1300a5e95788b356336eeecd2b92",
			"recipient_key": "e39a0c7c77b43f03b4b39ab9a268699f",
			"common_iv": "2ca58fb85ff1b81c0b7181b85e",
			"sender_nonce_piv0": "2ca58fb85ff1b81c0b7181b85e",
			"recipient_nonce_piv0": "2da58fb85ff1b81d0b7181b85e"
		}
	},
	"messages": [
		{
			"name": "C.4 request, client, key id only",
			"context": "C.1.1",
			"sender_sequence_number": 20,
			"unprotected": "44015d1f00003974396c6f63616c686f737483747631",
			"protected": "44025d1f00003974396c6f63616c686f7374620914ff612f1092f1776f1c1668b3825e"
		},
		{
			"name": "C.5 request, client, no master salt",
			"context": "C.2.1",
			"sender_sequence_number": 20,
			"unprotected": "440171c30000b932396c6f63616c686f737483747631",
			"protected": "440271c30000b932396c6f63616c686f737463091400ff4ed339a5a379b0b8bc731fffb0"
		},
		{
			"name": "C.6 request, client, with kid context in the OSCORE option",
			"context": "C.3.1",
			"sender_sequence_number": 20,
			"include_kid_context": true,
			"unprotected": "44012f8eef9bbf7a396c6f63616c686f737483747631",
			"protected": "44022f8eef9bbf7a396c6f63616c686f73746b19140837cbf3210017a2d3ff72cd7273fd331ac45cffbe55c3"
		},
		{
			"name": "C.7 response, server, without Partial IV (nonce from the request)",
			"context": "C.1.2",
			"request_kid": "",
			"request_piv": "14",
			"response_includes_piv": false,
			"unprotected": "64455d1f00003974ff48656c6c6f20576f726c6421",
			"protected": "64445d1f0000397490ffdbaad1e9a7e7b2a813d3c31524378303cdafae119106"
		},
		{
			"name": "C.8 response, server, with its own Partial IV",
			"context": "C.1.2",
			"sender_sequence_number": 0,
			"request_kid": "",
			"request_piv": "14",
			"response_includes_piv": true,
			"unprotected": "64455d1f00003974ff48656c6c6f20576f726c6421",
			"protected": "64445d1f00003974920100ff4d4c13669384b67354b2b6175ff4b8658c666a6cf88e"
		}
	]
};
