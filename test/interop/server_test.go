package interop

import "testing"

// TestServeThumbprint checks the HTTPS listening line names the SHA-1
// thumbprint of the certificate the test configured.
func TestServeThumbprint(t *testing.T) {
	s := serverFor(t)
	if s.thumbprint != s.certSHA1 {
		t.Errorf("HTTPS listener thumbprint = %q; want %q (SHA-1 of %s/server.pem)", s.thumbprint, s.certSHA1, s.dir)
	}
}
