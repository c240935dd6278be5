# aiocoap side of tests/interop/oscore-aiocoap.mjs (a message-level OSCORE check, no network).
# Usage (STATE: a directory with client/ and server/ context directories):
#   aio.py client-request  -> prints hex of a protected Observe registration (and saves request_id)
#   aio.py client-response HEX... -> unprotects responses to that request, prints code/options/payload
#   aio.py server-request HEX -> unprotects a request, prints it, then protects a response and a notification
import sys, pickle, os
# PYTHONPATH must name the aiocoap checkout and shared/tools/aiocoap/pystubs (see its README).
from aiocoap import Message, GET, CONTENT, CON, ACK, NON
from aiocoap.message import Direction
from aiocoap import oscore
here = os.environ["OSCORE_INTEROP_STATE"]
def ctx(name):
    return oscore.FilesystemSecurityContext(os.path.join(here, name))
cmd = sys.argv[1]
if cmd == "client-request":
    c = ctx("client")
    m = Message(code=GET, mtype=CON, mid=0x1234, token=b"\xa1\xb2", uri_path=["obs", "x"], uri_host="example.com", observe=0, payload=b"hello")
    m.direction = Direction.OUTGOING
    outer, rid = c.protect(m)
    outer.mid = 0x1234; outer.token = b"\xa1\xb2"; outer.mtype = CON
    print(outer.encode().hex())
    pickle.dump((rid.kid, rid.partial_iv, rid.code_style), open(os.path.join(here, "rid.pkl"), "wb"))
elif cmd == "client-response":
    c = ctx("client")
    kid, piv, style = pickle.load(open(os.path.join(here, "rid.pkl"), "rb"))
    rid = oscore.RequestIdentifiers(kid, piv, None, style.request)
    for h in sys.argv[2:]:
        msg = Message.decode(bytes.fromhex(h))
        try:
            plain, _ = c.unprotect(msg, rid)
            print("OK", plain.code, "observe=%s" % plain.opt.observe, plain.payload)
        except Exception as e:
            print("ERR", type(e).__name__, e)
elif cmd == "server-request":
    s = ctx("server")
    msg = Message.decode(bytes.fromhex(sys.argv[2]))
    plain, rid = s.unprotect(msg, None)
    print("REQ", plain.code, list(plain.opt.uri_path), plain.opt.uri_host, "observe=%s" % plain.opt.observe, plain.payload)
    for i, (obs, payload) in enumerate([(None, b"first"), (5, b"notif5"), (6, b"notif6")]):
        r = Message(code=CONTENT, mtype=ACK if i == 0 else NON, mid=0x1234 + i, token=msg.token, payload=payload)
        if obs is not None: r.opt.observe = obs
        r.direction = Direction.OUTGOING
        outer, _ = s.protect(r, rid)
        if obs is not None: outer.opt.observe = obs
        outer.mid = 0x1234 + i; outer.token = msg.token; outer.mtype = r.mtype
        print("RES", outer.encode().hex())
