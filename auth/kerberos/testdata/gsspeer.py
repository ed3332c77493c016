"""MIT krb5 GSS-API peer for the interop tests in ../interop_test.go.

Run with /usr/bin/python3 (Debian's python3-gssapi and python3-kerberos)
and KRB5_CONFIG, KRB5CCNAME and KRB5_KTNAME set. Tokens travel as hex,
one per line, on stdin/stdout:

  initiate SPN [CBHEX]  -> prints the initial token, reads the reply,
                           prints "complete", then serves wrap/unwrap.
  accept [CBHEX]        -> reads the initial token, prints the reply and
                           "complete", then serves wrap/unwrap.
  pykerberos SERVICE    -> pykerberos (pywinrm's client): prints the token
                           of authGSSClientStep, reads the reply, prints
                           "complete" once authGSSClientStep accepts it.
  record SPN            -> establishes a context with itself and prints
                           one JSON line of wrap_iov tokens for testdata.

wrap/unwrap requests: "wrap PLAINHEX" -> "HEADERHEX DATAHEX";
"unwrap HEADERHEX DATAHEX" -> "PLAINHEX"; "key" -> the context key
(GSS_C_INQ_SSPI_SESSION_KEY) as "ENCTYPE KEYHEX".
"""
import base64
import binascii
import json
import sys

import gssapi
import gssapi.raw as graw
from gssapi.raw.ext_dce import IOV, IOVBufferType as T, wrap_iov, unwrap_iov

FLAGS = [
    gssapi.RequirementFlag.mutual_authentication,
    gssapi.RequirementFlag.integrity,
    gssapi.RequirementFlag.confidentiality,
    gssapi.RequirementFlag.out_of_sequence_detection,
    gssapi.RequirementFlag.replay_detection,
]
SSPI_SESSION_KEY = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2.5.5")


def out(*words):
    print(" ".join(words), flush=True)


def readline():
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    return line.split()


def bindings(args):
    if args:
        return graw.ChannelBindings(application_data=binascii.unhexlify(args[0]))
    return None


def wrap(ctx, plain):
    iov = IOV(T.header, plain, T.padding, std_layout=False)
    wrap_iov(ctx, iov, confidential=True)
    assert not iov[2].value, "padding used"
    return iov[0].value, iov[1].value


def unwrap(ctx, header, data):
    # pyspnego's unwrap_winrm for MIT: HEADER, DATA, and an empty DATA.
    iov = IOV((T.header, False, header), (T.data, False, data), (T.data, False, b""), std_layout=False)
    unwrap_iov(ctx, iov)
    return iov[1].value


def context_key(ctx):
    key, oid = graw.inquire_sec_context_by_oid(ctx, SSPI_SESSION_KEY)
    # The OID is 1.2.840.113554.1.2.2.4.<enctype>.
    return oid[-1], key


def serve(ctx):
    out("complete")
    while True:
        words = readline()
        if words[0] == "wrap":
            h, d = wrap(ctx, b"" if words[1] == "-" else binascii.unhexlify(words[1]))
            out(h.hex(), d.hex() or "-")
        elif words[0] == "unwrap":
            data = b"" if words[2] == "-" else binascii.unhexlify(words[2])
            try:
                out(unwrap(ctx, binascii.unhexlify(words[1]), data).hex() or "-")
            except gssapi.exceptions.GSSError as e:
                out("error", str(e).replace("\n", " "))
        elif words[0] == "key":
            etype, key = context_key(ctx)
            out(str(etype), key.hex())
        else:
            out("error", "unknown request")


def initiate(spn, args):
    name = gssapi.Name(spn, gssapi.NameType.hostbased_service)
    ctx = gssapi.SecurityContext(name=name, usage="initiate", flags=FLAGS, channel_bindings=bindings(args))
    out(ctx.step().hex())
    ctx.step(binascii.unhexlify(readline()[0]))
    if not ctx.complete:
        out("error", "context not complete")
        return
    serve(ctx)


def accept(args):
    ctx = gssapi.SecurityContext(usage="accept", creds=gssapi.Credentials(usage="accept"),
                                 channel_bindings=bindings(args))
    reply = ctx.step(binascii.unhexlify(readline()[0]))
    out(reply.hex() if reply else "-")
    if not ctx.complete:
        out("error", "context not complete")
        return
    serve(ctx)


def pykerberos(service):
    import kerberos
    _, ctx = kerberos.authGSSClientInit(service, gssflags=kerberos.GSS_C_MUTUAL_FLAG | kerberos.GSS_C_SEQUENCE_FLAG)
    kerberos.authGSSClientStep(ctx, "")
    out(base64.b64decode(kerberos.authGSSClientResponse(ctx)).hex())
    reply = base64.b64encode(binascii.unhexlify(readline()[0])).decode()
    rc = kerberos.authGSSClientStep(ctx, reply)
    out("complete" if rc == kerberos.AUTH_GSS_COMPLETE else "error step returned %d" % rc)


def record(spn):
    name = gssapi.Name(spn, gssapi.NameType.hostbased_service)
    ini = gssapi.SecurityContext(name=name, usage="initiate", flags=FLAGS)
    acc = gssapi.SecurityContext(usage="accept", creds=gssapi.Credentials(usage="accept"))
    ini.step(acc.step(ini.step()))
    etype, key = context_key(ini)
    rec = {"enctype": etype, "key": key.hex(), "tokens": []}
    for sender, ctx in (("initiator", ini), ("acceptor", acc), ("initiator", ini)):
        for plain in (b"<s:Envelope>hello</s:Envelope>", b"x", b""):
            h, d = wrap(ctx, plain)
            rec["tokens"].append({"sender": sender, "plain": plain.hex(), "header": h.hex(), "data": d.hex()})
    print(json.dumps(rec, indent=1))


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "initiate":
        initiate(args[0], args[1:])
    elif mode == "accept":
        accept(args)
    elif mode == "pykerberos":
        pykerberos(args[0])
    elif mode == "record":
        record(args[0])


if __name__ == "__main__":
    main()
