package wsman

import (
	"encoding/base64"
	"encoding/binary"
)

// Stream data is base64 in every Receive and Send (MS-WSMV 2.2.4.37), so
// its coding is the largest CPU cost of streaming output. These routines
// produce exactly what encoding/base64's StdEncoding produces, working on
// six input bytes (eight characters) per step with lookup tables; the
// tail and anything unusual go to encoding/base64.

// b64Alphabet is the standard alphabet (RFC 4648 section 4).
const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// b64Tables are read-only after construction.
type b64Tables struct {
	// pair maps 12 bits to two characters, first character in the low
	// byte.
	pair [4096]uint16
	// dec[k][c] is the 6-bit value of character c shifted into place for
	// position k of a 4-character group, or b64Bad.
	dec [4][256]uint32
}

// b64Bad marks a character outside the alphabet in dec.
const b64Bad = 1 << 31

var b64 = newB64Tables()

func newB64Tables() *b64Tables {
	t := &b64Tables{}
	for i := range t.pair {
		t.pair[i] = uint16(b64Alphabet[i>>6]) | uint16(b64Alphabet[i&63])<<8
	}
	for k := range t.dec {
		for c := range t.dec[k] {
			t.dec[k][c] = b64Bad
		}
	}
	for v := range len(b64Alphabet) {
		c := b64Alphabet[v]
		t.dec[0][c] = uint32(v) << 18
		t.dec[1][c] = uint32(v) << 12
		t.dec[2][c] = uint32(v) << 6
		t.dec[3][c] = uint32(v)
	}
	return t
}

// encodeBase64 writes the StdEncoding of src to dst, which must hold
// base64.StdEncoding.EncodedLen(len(src)) bytes.
func encodeBase64(dst, src []byte) {
	i, j := 0, 0
	// Load eight bytes, use six: stop while eight remain readable and
	// eight are writable.
	for ; i+8 <= len(src) && j+8 <= len(dst); i, j = i+6, j+8 {
		v := binary.BigEndian.Uint64(src[i:])
		o := uint64(b64.pair[v>>52]) |
			uint64(b64.pair[v>>40&0xfff])<<16 |
			uint64(b64.pair[v>>28&0xfff])<<32 |
			uint64(b64.pair[v>>16&0xfff])<<48
		binary.LittleEndian.PutUint64(dst[j:], o)
	}
	base64.StdEncoding.Encode(dst[j:], src[i:])
}

// appendDecodeBase64 appends the decoding of src to dst. ok is false, and
// dst unchanged, when src is not plain padded StdEncoding text without
// whitespace; the caller then uses encoding/base64, which also skips
// line breaks and gives the error.
func appendDecodeBase64(dst, src []byte) (out []byte, ok bool) {
	if len(src) == 0 {
		return dst, true
	}
	if len(src)%4 != 0 {
		return dst, false
	}
	n0 := len(dst)
	need := len(src)/4*3 + 8 // room for the last 8-byte store
	if cap(dst)-n0 < need {
		grown := make([]byte, n0, n0+need)
		copy(grown, dst)
		dst = grown
	}
	buf := dst[n0:cap(dst)]
	body := len(src) - 4 // the last group may carry padding
	i, j := 0, 0
	for ; i+8 <= body; i, j = i+8, j+6 {
		a := b64.dec[0][src[i]] | b64.dec[1][src[i+1]] | b64.dec[2][src[i+2]] | b64.dec[3][src[i+3]]
		b := b64.dec[0][src[i+4]] | b64.dec[1][src[i+5]] | b64.dec[2][src[i+6]] | b64.dec[3][src[i+7]]
		if (a|b)&b64Bad != 0 {
			return dst[:n0], false
		}
		binary.BigEndian.PutUint64(buf[j:], uint64(a)<<40|uint64(b)<<16)
	}
	for ; i < body; i, j = i+4, j+3 {
		a := b64.dec[0][src[i]] | b64.dec[1][src[i+1]] | b64.dec[2][src[i+2]] | b64.dec[3][src[i+3]]
		if a&b64Bad != 0 {
			return dst[:n0], false
		}
		buf[j], buf[j+1], buf[j+2] = byte(a>>16), byte(a>>8), byte(a)
	}
	m, err := base64.StdEncoding.Decode(buf[j:], src[i:])
	if err != nil {
		return dst[:n0], false
	}
	return dst[:n0+j+m], true
}
