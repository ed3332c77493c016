#!/usr/bin/python3
"""Record real SPNEGO exchanges between two MIT krb5 GSS-API contexts.

Run by gen_test.go (go test -tags spnegogen -run TestGenerateMIT), which
sets up the environment: a throwaway KDC (KRB5_CONFIG, KRB5CCNAME,
KRB5_KTNAME) and, when gss-ntlmssp is installed, GSS_MECH_CONFIG and
NTLM_USER_FILE for the NTLM mechanism. Prints "name kind hex" lines:
every token the initiator (ini) and acceptor (acc) produced, in order.
"""
import os
import sys

import gssapi
import gssapi.raw as graw

SPNEGO = gssapi.OID.from_int_seq('1.3.6.1.5.5.2')
FLAGS = (gssapi.RequirementFlag.mutual_authentication |
         gssapi.RequirementFlag.integrity |
         gssapi.RequirementFlag.confidentiality)


def kind(tok):
    if tok.startswith(b'NTLMSSP\0'):
        return 'NTLM'
    if tok[0] == 0x60:
        return 'NegTokenInit'
    if tok[0] == 0xa1:
        return 'NegTokenResp'
    return 'unknown'


def exchange(prefix, ini):
    acc = gssapi.SecurityContext(usage='accept')
    tok = ini.step()
    n = 0
    while tok is not None:
        print('%s_ini%d %s %s' % (prefix, n, kind(tok), tok.hex()))
        out = acc.step(tok)
        if out is None:
            break
        print('%s_acc%d %s %s' % (prefix, n, kind(out), out.hex()))
        if ini.complete:
            break
        tok = ini.step(out)
        n += 1
    if not (ini.complete and acc.complete):
        sys.exit('%s: exchange did not complete' % prefix)


target = gssapi.Name('HTTP@localhost', gssapi.NameType.hostbased_service)
which = sys.argv[1]
if which == 'krb5':
    exchange('mit_krb5', gssapi.SecurityContext(
        name=target, mech=SPNEGO, usage='initiate', flags=FLAGS))
elif which == 'ntlm':
    user = gssapi.Name(os.environ['GEN_NTLM_USER'], gssapi.NameType.user)
    cred = graw.acquire_cred_with_password(
        user, os.environ['GEN_NTLM_PASSWORD'].encode(), usage='initiate',
        mechs=[SPNEGO]).creds
    exchange('mit_ntlm', gssapi.SecurityContext(
        name=target, creds=cred, mech=SPNEGO, usage='initiate', flags=FLAGS))
else:
    sys.exit('usage: gen_mit.py krb5|ntlm')
