package accounts

import (
	"bytes"
	"testing"
)

// FuzzParseTable feeds arbitrary store files to the parser: it must never
// panic, and a file it accepts must survive marshal and parse unchanged.
func FuzzParseTable(f *testing.F) {
	f.Add([]byte("alice:$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g:\n# comment\n\n"))
	f.Add([]byte("bob:$argon2id$v=19$m=1,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA:0123456789abcdef0123456789ABCDEF:extra\n"))
	f.Add([]byte("x:y\n"))
	f.Add([]byte("a:$argon2id$v=19$m=1099511627776,t=1,p=0$AA$AA:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := parseTable("fuzz", data)
		if err != nil {
			return
		}
		out := tab.marshal()
		again, err := parseTable("fuzz", out)
		if err != nil {
			t.Fatalf("marshalled table does not parse: %v\n%q", err, out)
		}
		if !bytes.Equal(again.marshal(), out) {
			t.Fatalf("marshal is not stable:\n%q\n%q", out, again.marshal())
		}
	})
}
