#!/usr/bin/python3
"""NTLM client for python_test.go, built on the code pywinrm runs.

It authenticates exactly as requests-ntlm's HttpNtlmAuth does (the user
name split and domain upper-casing of HttpNtlmAuth.__init__, then the
ntlm_auth.ntlm.Ntlm calls of retry_using_http_NTLM_auth, with the channel
binding hash from requests_ntlm._get_certificate_hash), and seals and
unseals as pywinrm's winrm/encryption.py does (session_security.wrap and
unwrap, framed as a little-endian signature length, the signature and the
sealed message).

Protocol, one line each way, base64 for binary:
  test   -> {"user": ..., "password": ..., "cert": DER path or null,
             "compat": LmCompatibilityLevel, "messages": N}
  script -> NEGOTIATE <b64>
  test   -> CHALLENGE <b64>
  script -> AUTHENTICATE <b64>
  test   -> OK | FAIL
  then N times:
  script -> SEALED <b64 framed request>
  test   -> SEALED <b64 framed reply>
  script -> PLAIN <b64 unsealed reply>
"""

import base64
import json
import struct
import sys

from ntlm_auth import ntlm
from requests_ntlm import HttpNtlmAuth
from requests_ntlm.requests_ntlm import _get_certificate_hash


def send(*words):
    print(*words, flush=True)


def receive(expected):
    words = sys.stdin.readline().split()
    if not words or words[0] != expected:
        sys.exit("ntlm_peer: expected %s, got %r" % (expected, words))
    return words[1:]


def b64(data):
    return base64.b64encode(data).decode("ascii")


def run(spec):
    auth = HttpNtlmAuth(spec["user"], spec["password"])
    cert_hash = None
    if spec.get("cert"):
        with open(spec["cert"], "rb") as f:
            cert_hash = _get_certificate_hash(f.read())

    context = ntlm.Ntlm(ntlm_compatibility=spec.get("compat", 3))
    send("NEGOTIATE", context.create_negotiate_message(auth.domain).decode("ascii"))
    context.parse_challenge_message(receive("CHALLENGE")[0])
    message = context.create_authenticate_message(
        auth.username, auth.password, auth.domain,
        server_certificate_hash=cert_hash)
    send("AUTHENTICATE", message.decode("ascii"))
    if sys.stdin.readline().strip() != "OK":
        return

    security = context.session_security
    for i in range(spec["messages"]):
        request = ("<s:Envelope>request %d</s:Envelope>" % i).encode() * (i + 1)
        sealed, signature = security.wrap(request)
        send("SEALED", b64(struct.pack("<i", len(signature)) + signature + sealed))
        data = base64.b64decode(receive("SEALED")[0])
        length = struct.unpack("<i", data[:4])[0]
        plain = security.unwrap(data[4 + length:], data[4:4 + length])
        send("PLAIN", b64(plain))


def main():
    for line in sys.stdin:
        run(json.loads(line))


if __name__ == "__main__":
    main()
