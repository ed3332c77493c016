package kerberos

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/types"
)

// MaxMessageSize bounds the plaintext of one wrapped WinRM message.
const MaxMessageSize = 64 << 20

// RFC 4121 section 4.2.6.2 wrap token constants.
const (
	wrapHeaderLen = 16
	tokWrap       = 0x0504

	wrapSentByAcceptor = 0x01
	wrapSealed         = 0x02
	wrapAcceptorSubkey = 0x04

	confounderLen = 16 // AES block size: the RFC 3962 and RFC 8009 confounder
)

// keyForSending returns the key wrap tokens are protected with and
// whether it is the acceptor subkey (RFC 4121 section 2: the acceptor
// subkey when the AP-REP carried one, else the initiator subkey, else the
// ticket session key).
func (c *Context) keyForSending() (types.EncryptionKey, bool) {
	if c.accSubkey != nil {
		return *c.accSubkey, true
	}
	if c.initSubkey != nil {
		return *c.initSubkey, false
	}
	return c.session, false
}

// WrapWinRM protects one WinRM message (winrm-protocol.md 9.5) and returns
// the two parts of the multipart body: the security header and the
// ciphertext, which has the plaintext's length.
//
// The layout is that of MIT krb5's gss_wrap_iov with HEADER, DATA and
// PADDING buffers, which pyspnego (pywinrm, pypsrp) uses and Windows
// accepts: an RFC 4121 wrap token with Sealed set, EC = 0 and RRC =
// 16 + h, h being the checksum size (RRC = 28 for the AES-SHA1 types).
// The encrypted data confounder|plaintext|copy-of-header, followed by its
// checksum, is rotated right by RRC bytes, so that the header part is
//
//	token header (16) | E(copy of header) (16) | checksum (h) | E(confounder) (16)
//
// (60 bytes for AES-SHA1), and the rest is the plaintext encrypted in
// place. The acceptor sets SentByAcceptor; AcceptorSubkey is set when the
// acceptor subkey is the key in use.
func (c *Context) WrapWinRM(plaintext []byte) (header, ciphertext []byte, err error) {
	if len(plaintext) > MaxMessageSize {
		return nil, nil, fmt.Errorf("kerberos: message of %d bytes exceeds %d", len(plaintext), MaxMessageSize)
	}
	conf := make([]byte, confounderLen)
	if _, err := io.ReadFull(c.randReader(), conf); err != nil {
		return nil, nil, fmt.Errorf("kerberos: confounder: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	header, ciphertext, err = c.wrapWithConfounder(c.sendSeq, conf, plaintext)
	if err == nil {
		c.sendSeq++
	}
	return header, ciphertext, err
}

// wrapWithConfounder builds the wrap token for sequence number seq.
func (c *Context) wrapWithConfounder(seq uint64, conf, plaintext []byte) (header, ciphertext []byte, err error) {
	key, accSubkey := c.keyForSending()
	if !cfxEnctype(key.KeyType) {
		return nil, nil, fmt.Errorf("%w: message protection with encryption type %d", ErrUnsupported, key.KeyType)
	}
	et, err := checkKey(key)
	if err != nil {
		return nil, nil, err
	}
	var flags byte = wrapSealed
	usage := uint32(keyusage.GSSAPI_INITIATOR_SEAL)
	if !c.initiator {
		flags |= wrapSentByAcceptor
		usage = keyusage.GSSAPI_ACCEPTOR_SEAL
	}
	if accSubkey {
		flags |= wrapAcceptorSubkey
	}
	hdr := make([]byte, wrapHeaderLen)
	binary.BigEndian.PutUint16(hdr, tokWrap)
	hdr[2], hdr[3] = flags, 0xff
	// EC = 0, and RRC = 0 in the encrypted copy (RFC 4121 section 4.2.4).
	binary.BigEndian.PutUint64(hdr[8:], seq)

	pt := make([]byte, 0, len(plaintext)+wrapHeaderLen)
	pt = append(append(pt, plaintext...), hdr...)
	ct, err := sealCFX(et, key.KeyValue, usage, conf, pt)
	if err != nil {
		return nil, nil, err
	}
	// RRC covers E(header copy) and the checksum: 16 + h.
	rrc := wrapHeaderLen + len(ct) - confounderLen - len(pt)
	binary.BigEndian.PutUint16(hdr[6:], uint16(rrc))

	// Rotate right by RRC: the last RRC bytes (E(header copy) and the
	// checksum) come first, then E(confounder), then E(plaintext).
	split := len(ct) - rrc
	header = make([]byte, 0, wrapHeaderLen+rrc+confounderLen)
	header = append(header, hdr...)
	header = append(header, ct[split:]...)
	header = append(header, ct[:confounderLen]...)
	ciphertext = ct[confounderLen:split]
	return header, ciphertext, nil
}

// UnwrapWinRM verifies and decrypts one WinRM message from its security
// header and ciphertext (winrm-protocol.md 9.5).
//
// It accepts any split of the token between the two parts, the layout
// WrapWinRM and MIT krb5 produce (EC = 0, RRC = 16 + h), a non-zero EC
// with RRC counting it (RFC 4121), and the layout MS-KILE section
// 3.4.5.4.1 describes for Windows, where EC = 16 filler bytes are added
// and the data is rotated by RRC + EC although RRC says 28. The token must
// be sealed, come from the peer (SentByAcceptor set exactly when this is
// the initiator), and carry the next sequence number: a replayed, lost or
// reordered message fails with ErrSequence and leaves the expected number
// unchanged.
func (c *Context) UnwrapWinRM(header, ciphertext []byte) ([]byte, error) {
	if len(header) < wrapHeaderLen {
		return nil, fmt.Errorf("%w: wrap token header of %d bytes", ErrMalformed, len(header))
	}
	if len(ciphertext) > MaxMessageSize || len(header) > MaxTokenSize {
		return nil, fmt.Errorf("%w: wrap token of %d+%d bytes is too large", ErrMalformed, len(header), len(ciphertext))
	}
	hdr := header[:wrapHeaderLen]
	if binary.BigEndian.Uint16(hdr) != tokWrap || hdr[3] != 0xff {
		return nil, fmt.Errorf("%w: not an RFC 4121 wrap token (TOK_ID %x)", ErrMalformed, hdr[:2])
	}
	flags := hdr[2]
	if (flags&wrapSentByAcceptor != 0) == !c.initiator {
		return nil, fmt.Errorf("%w: wrap token sent in the wrong direction", ErrIntegrity)
	}
	if flags&wrapSealed == 0 {
		return nil, fmt.Errorf("%w: wrap token is not sealed (encryption is required)", ErrIntegrity)
	}
	key := c.session
	switch {
	case flags&wrapAcceptorSubkey != 0:
		if c.accSubkey == nil {
			return nil, fmt.Errorf("%w: wrap token uses an acceptor subkey the context does not have", ErrIntegrity)
		}
		key = *c.accSubkey
	case c.initSubkey != nil:
		key = *c.initSubkey
	}
	if !cfxEnctype(key.KeyType) {
		return nil, fmt.Errorf("%w: message protection with encryption type %d", ErrUnsupported, key.KeyType)
	}
	usage := uint32(keyusage.GSSAPI_ACCEPTOR_SEAL)
	if !c.initiator {
		usage = keyusage.GSSAPI_INITIATOR_SEAL
	}
	ec := int(binary.BigEndian.Uint16(hdr[4:]))
	rrc := int(binary.BigEndian.Uint16(hdr[6:]))
	seq := binary.BigEndian.Uint64(hdr[8:])

	body := make([]byte, 0, len(header)-wrapHeaderLen+len(ciphertext))
	body = append(append(body, header[wrapHeaderLen:]...), ciphertext...)
	if len(body) < confounderLen+ec+wrapHeaderLen {
		return nil, fmt.Errorf("%w: wrap token of %d bytes is truncated", ErrMalformed, len(header)+len(ciphertext))
	}
	pt, err := unrotateDecrypt(key, usage, body, rrc)
	if err != nil && ec > 0 {
		// MS-KILE 3.4.5.4.1: Windows rotates by RRC + EC.
		pt, err = unrotateDecrypt(key, usage, body, rrc+ec)
	}
	if err != nil {
		return nil, err
	}
	if len(pt) < ec+wrapHeaderLen {
		return nil, fmt.Errorf("%w: decrypted wrap token too short", ErrIntegrity)
	}
	copyHdr := pt[len(pt)-wrapHeaderLen:]
	if !bytes.Equal(copyHdr[:4], hdr[:4]) || !bytes.Equal(copyHdr[8:], hdr[8:]) {
		return nil, fmt.Errorf("%w: encrypted header copy does not match the token header", ErrIntegrity)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq != c.recvSeq {
		what := "out of order"
		if seq < c.recvSeq {
			what = "replayed"
		}
		return nil, fmt.Errorf("%w: %s sequence number %d, expected %d", ErrSequence, what, seq, c.recvSeq)
	}
	c.recvSeq++
	return pt[:len(pt)-ec-wrapHeaderLen], nil
}

// unrotateDecrypt undoes a right rotation of body by rrc bytes (RFC 4121
// section 4.2.5) and decrypts the result.
func unrotateDecrypt(key types.EncryptionKey, usage uint32, body []byte, rrc int) ([]byte, error) {
	r := rrc % len(body)
	ct := make([]byte, 0, len(body))
	ct = append(append(ct, body[r:]...), body[:r]...)
	return decrypt(key, usage, ct)
}
