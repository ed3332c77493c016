"""Drive the unmodified pywinrm package against a WinRM endpoint.

Used by psremote's interop tests (../pywinrm_test.go); run it with the
system interpreter, /usr/bin/python3, which sees Debian's python3-winrm.

Environment:
  WINRM_ENDPOINT   e.g. http://127.0.0.1:5985/wsman
  WINRM_TRANSPORT  plaintext, ssl, certificate, ntlm or kerberos
  WINRM_USER, WINRM_PASSWORD
  WINRM_CA         CA bundle (PEM) that must verify the server (https only)
  WINRM_CERT, WINRM_KEY  client certificate and key (transport certificate)
  WINRM_MESSAGE_ENCRYPTION  auto (pywinrm's default), always or never
  WINRM_SEND_CBT   "false" to send no channel bindings (default true)
  (ntlm needs MD4: run with OPENSSL_CONF=testdata/openssl-legacy.cnf;
  kerberos uses the ticket cache named by KRB5CCNAME and KRB5_CONFIG)

argv[1] is a JSON array of cases, each {"command": "...", "args": [...]}.
Each case runs through winrm.Session.run_cmd, which opens a shell, runs
the command, receives until CommandState Done, and closes the shell.
Prints one JSON array on stdout, one result per case:
  {"std_out": base64, "std_err": base64, "status_code": int}
or {"error": "..."} when pywinrm raised.
"""

import base64
import json
import os
import sys
import traceback

import winrm


def main():
    cases = json.loads(sys.argv[1])
    kwargs = {"transport": os.environ["WINRM_TRANSPORT"]}
    ca = os.environ.get("WINRM_CA")
    if ca:
        kwargs["ca_trust_path"] = ca
        kwargs["server_cert_validation"] = "validate"
    if os.environ.get("WINRM_MESSAGE_ENCRYPTION"):
        kwargs["message_encryption"] = os.environ["WINRM_MESSAGE_ENCRYPTION"]
    if os.environ.get("WINRM_SEND_CBT") == "false":
        kwargs["send_cbt"] = False
    if os.environ.get("WINRM_CERT"):
        kwargs["cert_pem"] = os.environ["WINRM_CERT"]
        kwargs["cert_key_pem"] = os.environ["WINRM_KEY"]
    session = winrm.Session(
        os.environ["WINRM_ENDPOINT"],
        auth=(os.environ["WINRM_USER"], os.environ["WINRM_PASSWORD"]),
        **kwargs
    )
    results = []
    for case in cases:
        try:
            r = session.run_cmd(case["command"], case.get("args", []))
            results.append({
                "std_out": base64.b64encode(r.std_out).decode("ascii"),
                "std_err": base64.b64encode(r.std_err).decode("ascii"),
                "status_code": r.status_code,
            })
        except Exception:  # report every failure as data, keep going
            results.append({"error": traceback.format_exc()})
    json.dump(results, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
