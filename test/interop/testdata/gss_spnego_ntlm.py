"""Authenticate to a WinRM endpoint with SPNEGO-wrapped NTLM from MIT
GSS-API and gss-ntlmssp, then exchange sealed messages.

Used by psremote's interop tests (../server_auth_gssntlm_test.go); run it
with /usr/bin/python3 (python3-gssapi) on a machine with the gss-ntlmssp
package, which registers NTLMSSP as a GSS-API mechanism. This is the
SPNEGO-NTLM path of Windows clients: an NTLM NEGOTIATE as the optimistic
token of a NegTokenInit, the AUTHENTICATE with a MIC and an SPNEGO
mechListMIC, the acceptor's mechListMIC in its final token (verified by
MIT's SPNEGO), and then messages sealed after the NTLM RC4 state reset
that MS-SPNG 3.1.5.1 prescribes.

argv: user password url (http://host:port/wsman). Prints one JSON object:
  {"legs": [[status, www-authenticate], ...], "complete": bool,
   "replies": [{"status": int, "content_type": str, "body": str}, ...]}
"""

import base64
import http.client
import json
import re
import struct
import sys
import urllib.parse

import gssapi
import gssapi.raw

NTLM = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")
PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
IDENTIFY = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            b'xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">'
            b'<s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>')


def main():
    user, password, url = sys.argv[1], sys.argv[2], urllib.parse.urlsplit(sys.argv[3])
    name = gssapi.Name(user, gssapi.NameType.user)
    creds = gssapi.raw.acquire_cred_with_password(
        name, password.encode(), usage="initiate", mechs=[SPNEGO]).creds
    gssapi.raw.set_neg_mechs(creds, [NTLM])  # NTLM only, inside SPNEGO
    flags = (gssapi.RequirementFlag.integrity | gssapi.RequirementFlag.confidentiality
             | gssapi.RequirementFlag.mutual_authentication)
    ctx = gssapi.SecurityContext(
        name=gssapi.Name("HTTP@" + url.hostname, gssapi.NameType.hostbased_service),
        creds=creds, mech=SPNEGO, usage="initiate", flags=flags)
    conn = http.client.HTTPConnection(url.hostname, url.port)

    def post(headers, body=b""):
        headers = dict(headers, **{"Content-Length": str(len(body))})
        conn.request("POST", url.path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp, resp.read()

    out = {"legs": [], "complete": False, "replies": []}
    token = ctx.step()
    for _ in range(4):
        resp, _ = post({"Authorization": "Negotiate " + base64.b64encode(token).decode()})
        www = resp.getheader("WWW-Authenticate") or ""
        out["legs"].append([resp.status, www])
        if not www.startswith("Negotiate "):
            break
        token = ctx.step(base64.b64decode(www.split(" ", 1)[1]))
        if resp.status == 200:
            break
    out["complete"] = bool(ctx.complete)
    if not ctx.complete:
        json.dump(out, sys.stdout)
        return

    for _ in range(3):
        wrapped = ctx.wrap(IDENTIFY, True).message
        signature, sealed = wrapped[:16], wrapped[16:]
        body = (b"--Encrypted Boundary\r\n\tContent-Type: " + PROTOCOL.encode() + b"\r\n"
                b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
                + str(len(IDENTIFY)).encode() + b"\r\n"
                b"--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n"
                + struct.pack("<I", len(signature)) + signature + sealed
                + b"--Encrypted Boundary--\r\n")
        ctype = 'multipart/encrypted;protocol="%s";boundary="Encrypted Boundary"' % PROTOCOL
        resp, data = post({"Content-Type": ctype}, body)
        reply = {"status": resp.status, "content_type": resp.getheader("Content-Type") or "", "body": ""}
        m = re.search(rb"application/octet-stream\r\n(.*)--Encrypted Boundary--\r\n$", data, re.S)
        if m:
            blob = m.group(1)
            n = struct.unpack("<I", blob[:4])[0]
            reply["body"] = ctx.unwrap(blob[4:4 + n] + blob[4 + n:]).message.decode()
        out["replies"].append(reply)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
