#!/usr/bin/python3
"""Drive pywinrm's real message-encryption framing with a stub context.

pywinrm (Debian python3-winrm, winrm/encryption.py) frames encrypted
WinRM bodies in Encryption.prepare_encrypted_request and parses them in
Encryption._decrypt_response. This script gives it a stub security context
whose wrap is deterministic, so that the Go tests can compare bytes:

  gen      (re)writes pywinrm.json and the *.body files in this directory:
           the bodies and Content-Types pywinrm produces for each case.
  decrypt  MODE BODYFILE: runs pywinrm's _decrypt_response on BODYFILE
           (a body produced by our Seal) and writes the plaintext to
           stdout; exits non-zero if pywinrm rejects it.

Regenerate with:  cd auth/encrypt/testdata && /usr/bin/python3 pywinrm_golden.py gen

The stub (mirrored by stubWrapper in golden_test.go): message number s
(0, 1, 2... per direction) is XORed with (0x5a + s) & 0xff. NTLM returns a
16-byte signature and Kerberos a 60-byte header, byte i being
(16*s + i) & 0xff. CredSSP returns a fake TLS 1.2 AES-GCM record: 17 03 03,
big-endian length, an 8-byte explicit nonce (s, big-endian), the XORed
data and a 16-byte tag (header bytes as above); pywinrm prefixes the
trailer length it computes for cipher ECDHE-RSA-AES256-GCM-SHA384 (16).
"""
import json
import os
import struct
import sys

from winrm.encryption import Encryption

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER_LEN = {'ntlm': 16, 'kerberos': 60}


def pattern(n, s):
    return bytes((16 * s + i) & 0xff for i in range(n))


def xor(data, s):
    k = (0x5a + s) & 0xff
    return bytes(b ^ k for b in data)


class Counter(object):
    def __init__(self):
        self.n = 0

    def next(self):
        n = self.n
        self.n += 1
        return n


class StubSecurity(object):
    """session.auth.session_security for 'ntlm'."""

    def __init__(self):
        self.send, self.recv = Counter(), Counter()

    def wrap(self, message):
        s = self.send.next()
        return xor(message, s), pattern(HEADER_LEN['ntlm'], s)

    def unwrap(self, message, signature):
        s = self.recv.next()
        if signature != pattern(HEADER_LEN['ntlm'], s):
            raise ValueError('bad signature for message %d' % s)
        return xor(message, s)


class StubAuth(object):
    """session.auth for 'kerberos' and 'credssp'."""

    cipher_negotiated = 'ECDHE-RSA-AES256-GCM-SHA384'

    def __init__(self):
        self.session_security = StubSecurity()
        self.send, self.recv = Counter(), Counter()

    def wrap_winrm(self, host, message):
        s = self.send.next()
        return xor(message, s), pattern(HEADER_LEN['kerberos'], s)

    def unwrap_winrm(self, host, message, signature):
        s = self.recv.next()
        if signature != pattern(HEADER_LEN['kerberos'], s):
            raise ValueError('bad header for message %d' % s)
        return xor(message, s)

    def wrap(self, message):
        s = self.send.next()
        payload = struct.pack('>Q', s) + xor(message, s) + pattern(16, s)
        return b'\x17\x03\x03' + struct.pack('>H', len(payload)) + payload

    def unwrap(self, record):
        s = self.recv.next()
        if record[:3] != b'\x17\x03\x03' or struct.unpack('>H', record[3:5])[0] != len(record) - 5:
            raise ValueError('bad record header for message %d' % s)
        if record[5:13] != struct.pack('>Q', s) or record[-16:] != pattern(16, s):
            raise ValueError('bad nonce or tag for message %d' % s)
        return xor(record[13:-16], s)


class StubSession(object):
    def __init__(self):
        self.auth = StubAuth()


def generated(n):
    """The plaintext of the large cases; gen() in golden_test.go."""
    out, i = b'', 0
    while len(out) < n:
        out += b'<rsp:Stream Name="stdin" CommandId="%08d">line</rsp:Stream>\r\n' % i
        i += 1
    return out[:n]


def plaintext(spec):
    if spec.startswith('gen:'):
        return generated(int(spec[4:]))
    with open(os.path.join(HERE, spec), 'rb') as f:
        return f.read()


# name, pywinrm protocol, plaintext spec, number of messages sealed in a row
CASES = [
    ('ntlm_envelope', 'ntlm', 'envelope.xml', 1),
    ('ntlm_two_messages', 'ntlm', 'envelope.xml', 2),
    ('ntlm_empty', 'ntlm', 'gen:0', 1),
    ('ntlm_20000', 'ntlm', 'gen:20000', 1),
    ('kerberos_envelope', 'kerberos', 'envelope.xml', 1),
    ('credssp_envelope', 'credssp', 'envelope.xml', 1),
    ('credssp_16384', 'credssp', 'gen:16384', 1),
    ('credssp_33000', 'credssp', 'gen:33000', 1),
]


def gen():
    import requests
    manifest = []
    for name, mode, spec, count in CASES:
        session = StubSession()
        enc = Encryption(session, mode)
        msg = plaintext(spec)
        for k in range(count):
            req = enc.prepare_encrypted_request(requests.Session(), 'http://windows-host:5985/wsman', msg)
            body_file = '%s_%d.body' % (name, k) if count > 1 else '%s.body' % name
            with open(os.path.join(HERE, body_file), 'wb') as f:
                f.write(req.body)
            manifest.append({
                'name': name if count == 1 else '%s_%d' % (name, k),
                'mode': mode,
                'plaintext': spec,
                'message': k,
                'content_type': req.headers['Content-Type'],
                'body': body_file,
            })
    with open(os.path.join(HERE, 'pywinrm.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')


class Response(object):
    def __init__(self, content):
        self.content = content


def decrypt(mode, body_file, skip):
    enc = Encryption(StubSession(), mode)
    for _ in range(int(skip)):
        # Advance the receive counter as if earlier messages were read.
        (enc.session.auth.session_security.recv if mode == 'ntlm' else enc.session.auth.recv).next()
    with open(body_file, 'rb') as f:
        body = f.read()
    sys.stdout.buffer.write(enc._decrypt_response(Response(body), 'windows-host'))


if __name__ == '__main__':
    if sys.argv[1:2] == ['gen']:
        gen()
    elif sys.argv[1:2] == ['decrypt'] and len(sys.argv) in (4, 5):
        decrypt(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) == 5 else 0)
    else:
        sys.exit(__doc__)
