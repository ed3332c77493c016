package ntlm

import (
	"crypto/hmac"
	"crypto/rc4"
	"crypto/subtle"
	"fmt"
	"hash/crc32"
	"sync"
)

// Session is NTLM session security (MS-NLMP 3.4): message signing and
// sealing with separate client-to-server and server-to-client keys, RC4
// states (one shared state without extended session security) and
// sequence numbers. Each side has one Session, obtained from
// [ServerContext.Session] or [ClientContext.Session] once authentication
// completed.
//
// Every operation advances state shared by all operations in the same
// direction: outgoing messages ([Session.WrapWinRM], [Session.Sign]) take
// the next outgoing sequence number and consume the outgoing RC4 key
// stream (when NTLMSSP_NEGOTIATE_KEY_EXCH is negotiated, the signature
// checksum is RC4-encrypted with the same handle that seals messages);
// incoming ones ([Session.UnwrapWinRM], [Session.Verify]) do the same with
// the incoming state. So the two peers must perform the same operations in
// the same order: a message signed for SPNEGO's mechListMIC occupies a
// sequence number and key stream exactly as a sealed message does.
//
// A Session is safe for concurrent use, but calls in one direction must be
// made in the order the peer expects. After a verification failure the
// Session is broken and every later call fails with [ErrSessionBroken].
type Session struct {
	flags uint32

	outSealKey, inSealKey []byte // to reset the RC4 states

	mu sync.Mutex
	// mu protects the following.
	outSignKey, inSignKey [16]byte
	out, in               *rc4.Cipher // the same cipher without ESS
	outSeq, inSeq         uint32
	broken                bool
}

// newSession derives the four session keys from the exported session key
// (MS-NLMP 3.1.5.1.2, 3.2.5.1.2) for the client or the server side.
//
// Without extended session security both directions use one sealing key
// (MS-NLMP 3.4: "only one key is used for sealing ... half-duplex"); like
// Samba and pyspnego, this package then keeps a single RC4 state for both
// directions.
func newSession(flags uint32, exported [16]byte, client bool) *Session {
	s := &Session{
		flags:      flags,
		outSealKey: sealKey(flags, exported, client),
		inSealKey:  sealKey(flags, exported, !client),
		outSignKey: signKey(flags, exported, client),
		inSignKey:  signKey(flags, exported, !client),
	}
	s.out, _ = rc4.NewCipher(s.outSealKey) // 5 to 16 bytes: always valid
	s.in = s.out
	if flags&flagESS != 0 {
		s.in, _ = rc4.NewCipher(s.inSealKey)
	}
	return s
}

// ResetRC4 puts the RC4 state of one direction (both, without extended
// session security) back to its state at the end of authentication;
// sequence numbers are kept. SPNEGO needs it: once the mechListMIC is
// signed, or verified, the NTLM RC4 state is reset so that the first
// application message is sealed as if no signature had been made
// (MS-SPNG 3.3.5.1, as pyspnego and gss-ntlmssp implement it).
func (s *Session) ResetRC4(outgoing bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.flags&flagESS == 0:
		s.out, _ = rc4.NewCipher(s.outSealKey)
		s.in = s.out
	case outgoing:
		s.out, _ = rc4.NewCipher(s.outSealKey)
	default:
		s.in, _ = rc4.NewCipher(s.inSealKey)
	}
}

// Sealing reports whether message confidentiality
// (NTLMSSP_NEGOTIATE_SEAL) was negotiated, which [Session.WrapWinRM]
// needs.
func (s *Session) Sealing() bool { return s.flags&flagSeal != 0 }

// Signing reports whether message integrity (NTLMSSP_NEGOTIATE_SIGN or
// NTLMSSP_NEGOTIATE_SEAL) was negotiated. Without it, [Session.Sign]
// returns the constant signature of MS-NLMP 3.4.4.3.
func (s *Session) Signing() bool { return s.flags&(flagSign|flagSeal) != 0 }

// WrapWinRM seals one message for the peer as WinRM message encryption
// frames it (MS-WSMV 2.2.9.1): header is the 16-byte
// NTLMSSP_MESSAGE_SIGNATURE, ciphertext the RC4-sealed message (same
// length). The message is sealed first, then its signature computed with
// the same RC4 handle (MS-NLMP 3.4.3). It fails with [ErrUnsupported] when
// sealing was not negotiated.
func (s *Session) WrapWinRM(plaintext []byte) (header, ciphertext []byte, err error) {
	if !s.Sealing() {
		return nil, nil, fmt.Errorf("%w: sealing was not negotiated", ErrUnsupported)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return nil, nil, ErrSessionBroken
	}
	ciphertext = make([]byte, len(plaintext))
	s.out.XORKeyStream(ciphertext, plaintext)
	header = s.macLocked(s.out, s.outSignKey, s.outSeq, plaintext)
	s.outSeq++
	return header, ciphertext, nil
}

// UnwrapWinRM reverses [Session.WrapWinRM] for a message from the peer:
// it unseals ciphertext and checks the signature in header and its
// sequence number. It returns an error wrapping [ErrMalformed],
// [ErrSequence], [ErrIntegrity], [ErrUnsupported] or [ErrSessionBroken].
func (s *Session) UnwrapWinRM(header, ciphertext []byte) ([]byte, error) {
	if !s.Sealing() {
		return nil, fmt.Errorf("%w: sealing was not negotiated", ErrUnsupported)
	}
	if err := checkSignatureShape(header); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return nil, ErrSessionBroken
	}
	plaintext := make([]byte, len(ciphertext))
	s.in.XORKeyStream(plaintext, ciphertext)
	if err := s.checkLocked(plaintext, header); err != nil {
		return nil, err
	}
	return plaintext, nil
}

// Sign returns the NTLMSSP_MESSAGE_SIGNATURE of msg without sealing it
// (GSS_GetMIC, MS-NLMP 3.4.2 and 3.4.4), as SPNEGO's mechListMIC needs.
// It takes the next outgoing sequence number and, with key exchange, 8
// bytes of the outgoing RC4 key stream: see [Session] for why the order of
// Sign and [Session.WrapWinRM] calls matters. On a broken session it
// returns nil.
func (s *Session) Sign(msg []byte) []byte {
	if !s.Signing() {
		return noSignSignature()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return nil
	}
	sig := s.macLocked(s.out, s.outSignKey, s.outSeq, msg)
	s.outSeq++
	return sig
}

// Verify checks a signature made by the peer's [Session.Sign] over msg
// (GSS_VerifyMIC), advancing the incoming state as Sign advances the
// outgoing one. It returns an error wrapping [ErrMalformed],
// [ErrSequence], [ErrIntegrity] or [ErrSessionBroken].
func (s *Session) Verify(msg, sig []byte) error {
	if err := checkSignatureShape(sig); err != nil {
		return err
	}
	if !s.Signing() {
		if subtle.ConstantTimeCompare(sig, noSignSignature()) != 1 {
			return fmt.Errorf("%w: signature without negotiated integrity is not the constant one", ErrIntegrity)
		}
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return ErrSessionBroken
	}
	return s.checkLocked(msg, sig)
}

// noSignSignature is the signature when neither signing nor sealing was
// negotiated (MS-NLMP 3.4.4.3): version 1, all other bytes zero.
func noSignSignature() []byte {
	return []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
}

// checkSignatureShape checks the length and version of a signature.
func checkSignatureShape(sig []byte) error {
	if len(sig) != signatureSize {
		return fmt.Errorf("%w: signature of %d bytes, want %d", ErrMalformed, len(sig), signatureSize)
	}
	if le.Uint32(sig) != 1 {
		return fmt.Errorf("%w: signature version %d, want 1", ErrMalformed, le.Uint32(sig))
	}
	return nil
}

// checkLocked recomputes the signature of an incoming message with the
// expected sequence number and compares it with sig. A mismatch breaks
// the session. s.mu must be held.
func (s *Session) checkLocked(msg, sig []byte) error {
	want := s.macLocked(s.in, s.inSignKey, s.inSeq, msg)
	switch {
	case subtle.ConstantTimeCompare(sig[12:16], want[12:16]) != 1:
		s.broken = true
		return fmt.Errorf("%w: expected sequence number %d", ErrSequence, s.inSeq)
	case !hmac.Equal(sig[4:12], want[4:12]):
		s.broken = true
		return ErrIntegrity
	}
	s.inSeq++
	return nil
}

// macLocked computes MAC(Handle, SigningKey, SeqNum, Message) (MS-NLMP
// 3.4.4) into a 16-byte NTLMSSP_MESSAGE_SIGNATURE. s.mu must be held.
func (s *Session) macLocked(h *rc4.Cipher, key [16]byte, seq uint32, msg []byte) []byte {
	sig := make([]byte, signatureSize)
	le.PutUint32(sig, 1)
	if s.flags&flagESS != 0 {
		// 3.4.4.2: HMAC_MD5(SigningKey, SeqNum || Message)[0..7], RC4
		// encrypted when a key exchange took place.
		var seqb [4]byte
		le.PutUint32(seqb[:], seq)
		sum := hmacMD5(key[:], seqb[:], msg)
		if s.flags&flagKeyExch != 0 {
			h.XORKeyStream(sig[4:12], sum[:8])
		} else {
			copy(sig[4:12], sum[:8])
		}
		le.PutUint32(sig[12:], seq)
		return sig
	}
	// 3.4.4.1: RandomPad (0), CRC32 and SeqNum, each RC4 encrypted in
	// that order; the encrypted pad is then replaced by zero.
	var pad [4]byte
	h.XORKeyStream(pad[:], pad[:])
	le.PutUint32(sig[8:], crc32.ChecksumIEEE(msg))
	h.XORKeyStream(sig[8:12], sig[8:12])
	var zero [4]byte
	h.XORKeyStream(sig[12:16], zero[:])
	le.PutUint32(sig[12:], le.Uint32(sig[12:])^seq)
	return sig
}
