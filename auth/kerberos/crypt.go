package kerberos

import (
	"fmt"
	"io"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/common"
	"github.com/jcmturner/gokrb5/v8/crypto/etype"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/types"
)

// cfxEnctype reports whether RFC 4121 section 4.2.6.2 wrap tokens are
// implemented for the encryption type: the AES types of RFC 3962 and
// RFC 8009. RC4 (RFC 4757) and DES3 use other token formats.
func cfxEnctype(id int32) bool {
	switch id {
	case etypeID.AES128_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96,
		etypeID.AES128_CTS_HMAC_SHA256_128, etypeID.AES256_CTS_HMAC_SHA384_192:
		return true
	}
	return false
}

// keySize returns the key length of an encryption type. gokrb5 reports 24
// bytes for aes256-cts-hmac-sha384-192, whose keys are 32 bytes (RFC 8009
// section 3), and its encryption functions require 32.
func keySize(et etype.EType) int {
	switch et.GetETypeID() {
	case etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA384_192:
		return 32
	case etypeID.AES128_CTS_HMAC_SHA1_96, etypeID.AES128_CTS_HMAC_SHA256_128:
		return 16
	}
	return et.GetKeyByteSize()
}

// checkKey returns the encryption type of k after checking that gokrb5
// implements it and the key has its length.
func checkKey(k types.EncryptionKey) (etype.EType, error) {
	et, err := crypto.GetEtype(k.KeyType)
	if err != nil {
		return nil, fmt.Errorf("%w: encryption type %d", ErrUnsupported, k.KeyType)
	}
	if len(k.KeyValue) != keySize(et) {
		return nil, fmt.Errorf("%w: %d-byte key for encryption type %d", ErrMalformed, len(k.KeyValue), k.KeyType)
	}
	return et, nil
}

// decrypt decrypts and integrity-checks an RFC 3961 ciphertext
// (confounder, message, checksum) and returns the message. gokrb5 slices
// the ciphertext without checking its length, so the minimum is checked
// here, and a panic inside gokrb5 on hostile bytes becomes an error.
func decrypt(k types.EncryptionKey, usage uint32, ct []byte) (pt []byte, err error) {
	et, err := checkKey(k)
	if err != nil {
		return nil, err
	}
	if min := et.GetConfounderByteSize() + et.GetHMACBitLength()/8; len(ct) < min || len(ct) < 16 {
		return nil, fmt.Errorf("%w: ciphertext of %d bytes is too short", ErrMalformed, len(ct))
	}
	defer func() {
		if r := recover(); r != nil {
			pt, err = nil, fmt.Errorf("%w: ciphertext rejected by the cipher", ErrMalformed)
		}
	}()
	pt, err = et.DecryptMessage(k.KeyValue, ct, usage)
	if err != nil {
		return nil, fmt.Errorf("%w: decryption or integrity check failed", ErrIntegrity)
	}
	return pt, nil
}

// encrypt encrypts pt with a random confounder into RFC 3961 form.
func encrypt(k types.EncryptionKey, usage uint32, pt []byte) ([]byte, error) {
	et, err := checkKey(k)
	if err != nil {
		return nil, err
	}
	_, ct, err := et.EncryptMessage(k.KeyValue, pt, usage)
	if err != nil {
		return nil, fmt.Errorf("kerberos: encrypting: %w", err)
	}
	return ct, nil
}

// sealCFX is the RFC 3961 encryption function for the AES encryption
// types with the confounder given, so that wrap tokens can be reproduced
// byte for byte in tests: AES-CTS with a zero IV under Ke of
// confounder|pt, followed by the truncated HMAC under Ki of
// confounder|pt (RFC 3962) or of IV|ciphertext (RFC 8009).
func sealCFX(et etype.EType, key []byte, usage uint32, conf, pt []byte) ([]byte, error) {
	ke, err := et.DeriveKey(key, common.GetUsageKe(usage))
	if err != nil {
		return nil, fmt.Errorf("kerberos: deriving Ke: %w", err)
	}
	msg := make([]byte, 0, len(conf)+len(pt))
	msg = append(append(msg, conf...), pt...)
	_, c, err := et.EncryptData(ke, msg)
	if err != nil {
		return nil, fmt.Errorf("kerberos: encrypting: %w", err)
	}
	var macInput []byte
	switch et.GetETypeID() {
	case etypeID.AES128_CTS_HMAC_SHA1_96, etypeID.AES256_CTS_HMAC_SHA1_96:
		macInput = msg
	case etypeID.AES128_CTS_HMAC_SHA256_128, etypeID.AES256_CTS_HMAC_SHA384_192:
		macInput = append(make([]byte, 16), c...)
	default:
		return nil, fmt.Errorf("%w: wrap tokens with encryption type %d", ErrUnsupported, et.GetETypeID())
	}
	mac, err := common.GetIntegrityHash(macInput, key, usage, et)
	if err != nil {
		return nil, fmt.Errorf("kerberos: integrity hash: %w", err)
	}
	return append(c, mac...), nil
}

// randomKey returns a fresh random key of the given encryption type.
func randomKey(id int32, rnd io.Reader) (types.EncryptionKey, error) {
	et, err := crypto.GetEtype(id)
	if err != nil {
		return types.EncryptionKey{}, fmt.Errorf("%w: encryption type %d", ErrUnsupported, id)
	}
	if cfxEnctype(id) {
		// AES random-to-key is the identity.
		b := make([]byte, keySize(et))
		if _, err := io.ReadFull(rnd, b); err != nil {
			return types.EncryptionKey{}, fmt.Errorf("kerberos: random key: %w", err)
		}
		return types.EncryptionKey{KeyType: id, KeyValue: b}, nil
	}
	b := make([]byte, et.GetKeySeedBitLength()/8)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return types.EncryptionKey{}, fmt.Errorf("kerberos: random key: %w", err)
	}
	return types.EncryptionKey{KeyType: id, KeyValue: et.RandomToKey(b)}, nil
}

// randomSeq returns a random non-zero initial sequence number below 2^30,
// the range MIT krb5 and Windows use.
func randomSeq(rnd io.Reader) (uint32, error) {
	var b [4]byte
	for {
		if _, err := io.ReadFull(rnd, b[:]); err != nil {
			return 0, fmt.Errorf("kerberos: random sequence number: %w", err)
		}
		if s := (uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])) & 0x3fffffff; s != 0 {
			return s, nil
		}
	}
}
