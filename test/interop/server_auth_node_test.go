package interop

import (
	"strings"
	"testing"
)

// TestServerAuthWinrmClientNTLM drives winrm-client 0.0.11 with a
// "DOMAIN\user" name, which makes it use NTLM: on a new connection per
// call, an unauthenticated empty probe, then raw NTLMSSP in the Negotiate
// scheme with the body in clear on the last leg (so the shared server,
// AllowUnencrypted true). It computes NTOWFv2 with the domain upper-cased
// but sends it as typed; the server must try both.
func TestServerAuthWinrmClientNTLM(t *testing.T) {
	s := serverFor(t)
	needPeer(t, "winrm-client (node)", checkNode())
	runNode(t, s.httpPort, `Workgroup\`+testUser, s.password, nodeCases)
}

// TestServerAuthWinrmClientWrongPassword: a wrong NTLM password fails
// with the library's NTLM error for HTTP 401 (which also shows that the
// library used NTLM, not Basic, for a "DOMAIN\user" name).
func TestServerAuthWinrmClientWrongPassword(t *testing.T) {
	s := serverFor(t)
	needPeer(t, "winrm-client (node)", checkNode())
	res := runNodeRaw(t, s.httpPort, `Workgroup\`+testUser, s.password+"x", nodeCases[:1])
	if !strings.Contains(res[0].Error, "NTLM authentication failed: 401") {
		t.Errorf("wrong password: %+v; want winrm-client's NTLM error for HTTP 401", res[0])
	}
}
