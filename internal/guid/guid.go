// Package guid makes the random identifiers WinRM uses: version 4 UUIDs
// in upper case without braces, as Windows writes ShellId, CommandId and
// MessageID values. It implements RFC 9562 section 5.4 and nothing else.
package guid

import (
	"crypto/rand"
	"fmt"
)

// New returns a random (version 4) UUID in upper case.
func New() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("guid: no randomness: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%X-%X-%X-%X-%X", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
