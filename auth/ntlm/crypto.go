package ntlm

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"strings"

	"golang.org/x/crypto/md4" //nolint:staticcheck // MD4 is what NTOWF is made of (MS-NLMP 3.3.1).
)

// This file holds the key computations of MS-NLMP 3.3.2 (NTOWFv2, the
// NTLMv2 response, SessionBaseKey) and 3.4.5 (KXKEY, SIGNKEY, SEALKEY).

// NTHash returns MD4(UTF-16LE(password)), the NT one-way function of
// MS-NLMP 3.3.1 (NTOWFv1), which NTOWFv2 is keyed with.
func NTHash(password string) [16]byte {
	h := md4.New()
	h.Write(encodeUTF16(password))
	return [16]byte(h.Sum(nil))
}

// ntowfv2 returns NTOWFv2 = HMAC_MD5(NT hash, UNICODE(Uppercase(user) ||
// domain)) (MS-NLMP 3.3.2). The domain keeps its case.
func ntowfv2(ntHash [16]byte, user, domain string) [16]byte {
	return hmacMD5(ntHash[:], encodeUTF16(strings.ToUpper(user)+domain))
}

// hmacMD5 returns HMAC_MD5(key, concatenation of parts).
func hmacMD5(key []byte, parts ...[]byte) [16]byte {
	m := hmac.New(md5.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return [16]byte(m.Sum(nil))
}

// ntProof returns NTProofStr = HMAC_MD5(ResponseKeyNT, ServerChallenge ||
// temp), where temp is the NTLMv2_CLIENT_CHALLENGE blob.
func ntProof(responseKey [16]byte, serverChallenge [8]byte, blob []byte) [16]byte {
	return hmacMD5(responseKey[:], serverChallenge[:], blob)
}

// rc4k encrypts (or decrypts) a 16-byte value with a one-time RC4 keyed
// with key (RC4K, MS-NLMP 6).
func rc4k(key, data [16]byte) [16]byte {
	c, _ := rc4.NewCipher(key[:]) // a 16-byte key is always valid
	var out [16]byte
	c.XORKeyStream(out[:], data[:])
	return out
}

// Magic constants of SIGNKEY and SEALKEY, null-terminated (MS-NLMP
// 3.4.5.2, 3.4.5.3).
const (
	clientSignMagic = "session key to client-to-server signing key magic constant\x00"
	serverSignMagic = "session key to server-to-client signing key magic constant\x00"
	clientSealMagic = "session key to client-to-server sealing key magic constant\x00"
	serverSealMagic = "session key to server-to-client sealing key magic constant\x00"
)

// signKey is SIGNKEY (MS-NLMP 3.4.5.2) with extended session security;
// without it there is no signing key and the zero key is returned.
func signKey(flags uint32, exported [16]byte, client bool) [16]byte {
	if flags&flagESS == 0 {
		return [16]byte{}
	}
	magic := serverSignMagic
	if client {
		magic = clientSignMagic
	}
	return md5.Sum(append(exported[:], magic...))
}

// sealKey is SEALKEY (MS-NLMP 3.4.5.3). This package never negotiates
// NTLMSSP_NEGOTIATE_LM_KEY or NTLMSSP_NEGOTIATE_DATAGRAM, so without
// extended session security the sealing key is the exported session key
// itself, for both directions.
func sealKey(flags uint32, exported [16]byte, client bool) []byte {
	if flags&flagESS == 0 {
		return exported[:]
	}
	var k []byte
	switch {
	case flags&flag128 != 0:
		k = exported[:]
	case flags&flag56 != 0:
		k = exported[:7]
	default:
		k = exported[:5]
	}
	magic := serverSealMagic
	if client {
		magic = clientSealMagic
	}
	s := md5.Sum(append(append([]byte(nil), k...), magic...))
	return s[:]
}
