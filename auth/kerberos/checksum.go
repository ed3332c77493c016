package kerberos

import (
	"encoding/binary"
	"fmt"
)

// checksumGSS is the authenticator checksum type RFC 4121 section 4.1.1
// defines for GSS-API contexts.
const checksumGSS = 0x8003

// GSS-API context flags carried in the 0x8003 checksum (RFC 4121 section
// 4.1.1.1; RFC 2744 values).
const (
	flagDeleg    = 0x01
	flagMutual   = 0x02
	flagReplay   = 0x04
	flagSequence = 0x08
	flagConf     = 0x10
	flagInteg    = 0x20
	flagDCEStyle = 0x1000
)

// gssChecksum is the decoded 0x8003 checksum value.
type gssChecksum struct {
	bnd   [16]byte // MD5 of the channel bindings, or zeros
	flags uint32
}

// parseGSSChecksum decodes the 0x8003 checksum (RFC 4121 section 4.1.1):
// Lgth (4 bytes, little-endian, always 16), Bnd (16), Flags (4,
// little-endian), then DlgOpt, Dlgth and Deleg when the delegation flag is
// set, then extensions, which are ignored.
func parseGSSChecksum(b []byte) (gssChecksum, error) {
	var c gssChecksum
	if len(b) < 24 {
		return c, fmt.Errorf("%w: GSS checksum is %d bytes, want at least 24", ErrMalformed, len(b))
	}
	if l := binary.LittleEndian.Uint32(b); l != 16 {
		return c, fmt.Errorf("%w: GSS checksum Lgth is %d, want 16", ErrMalformed, l)
	}
	copy(c.bnd[:], b[4:20])
	c.flags = binary.LittleEndian.Uint32(b[20:24])
	if c.flags&flagDeleg != 0 {
		if len(b) < 28 {
			return c, fmt.Errorf("%w: GSS checksum has the delegation flag but no delegation field", ErrMalformed)
		}
		if dl := int(binary.LittleEndian.Uint16(b[26:28])); len(b) < 28+dl {
			return c, fmt.Errorf("%w: GSS checksum delegation field of %d bytes is truncated", ErrMalformed, dl)
		}
	}
	return c, nil
}

// marshal encodes c without delegation or extensions.
func (c gssChecksum) marshal() []byte {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint32(b, 16)
	copy(b[4:20], c.bnd[:])
	binary.LittleEndian.PutUint32(b[20:], c.flags&^flagDeleg)
	return b
}
