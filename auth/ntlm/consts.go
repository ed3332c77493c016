package ntlm

import "time"

// NEGOTIATE flags (MS-NLMP 2.2.2.5), by their spec names.
const (
	flagUnicode          uint32 = 0x00000001 // NTLMSSP_NEGOTIATE_UNICODE (A)
	flagOEM              uint32 = 0x00000002 // NTLM_NEGOTIATE_OEM (B)
	flagRequestTarget    uint32 = 0x00000004 // NTLMSSP_REQUEST_TARGET (C)
	flagSign             uint32 = 0x00000010 // NTLMSSP_NEGOTIATE_SIGN (D)
	flagSeal             uint32 = 0x00000020 // NTLMSSP_NEGOTIATE_SEAL (E)
	flagDatagram         uint32 = 0x00000040 // NTLMSSP_NEGOTIATE_DATAGRAM (F)
	flagLMKey            uint32 = 0x00000080 // NTLMSSP_NEGOTIATE_LM_KEY (G)
	flagNTLM             uint32 = 0x00000200 // NTLMSSP_NEGOTIATE_NTLM (H)
	flagAlwaysSign       uint32 = 0x00008000 // NTLMSSP_NEGOTIATE_ALWAYS_SIGN (M)
	flagTargetTypeDomain uint32 = 0x00010000 // NTLMSSP_TARGET_TYPE_DOMAIN (N)
	flagTargetTypeServer uint32 = 0x00020000 // NTLMSSP_TARGET_TYPE_SERVER (O)
	flagESS              uint32 = 0x00080000 // NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY (P)
	flagTargetInfo       uint32 = 0x00800000 // NTLMSSP_NEGOTIATE_TARGET_INFO (S)
	flagVersion          uint32 = 0x02000000 // NTLMSSP_NEGOTIATE_VERSION (T)
	flag128              uint32 = 0x20000000 // NTLMSSP_NEGOTIATE_128 (U)
	flagKeyExch          uint32 = 0x40000000 // NTLMSSP_NEGOTIATE_KEY_EXCH (V)
	flag56               uint32 = 0x80000000 // NTLMSSP_NEGOTIATE_56 (W)

	// securityFlags are the bits that change keys or session security.
	// The server honours a client that clears one of them in its
	// AUTHENTICATE message (the MIC, when sent, protects the flags).
	securityFlags = flagSign | flagSeal | flagKeyExch | flag128 | flag56 | flagESS
)

// AV_PAIR identifiers (MS-NLMP 2.2.2.1).
const (
	avEOL             uint16 = 0x0000
	avNbComputerName  uint16 = 0x0001
	avNbDomainName    uint16 = 0x0002
	avDNSComputerName uint16 = 0x0003
	avDNSDomainName   uint16 = 0x0004
	avDNSTreeName     uint16 = 0x0005
	avFlags           uint16 = 0x0006
	avTimestamp       uint16 = 0x0007
	avSingleHost      uint16 = 0x0008
	avTargetName      uint16 = 0x0009
	avChannelBindings uint16 = 0x000A
)

// MsvAvFlags bits (MS-NLMP 2.2.2.1).
const (
	avFlagMICPresent uint32 = 0x00000002
)

// Message types (MS-NLMP 2.2), typed for the wire code.
const (
	typeNegotiate    uint32 = TypeNegotiate
	typeChallenge    uint32 = TypeChallenge
	typeAuthenticate uint32 = TypeAuthenticate
)

// Limits on untrusted input.
const (
	// MaxMessageSize bounds every handshake message this package parses.
	// Real AUTHENTICATE messages are well under 2 KiB; HTTP headers carry
	// them, so 64 KiB is far beyond any legitimate one.
	MaxMessageSize = 64 << 10
	// maxAVPairs bounds an AV_PAIR list. Windows sends about ten.
	maxAVPairs = 64
	// maxNameBytes bounds user, domain, workstation and AV pair names
	// (512 UTF-16 code units; a UPN is at most 1024 bytes of UTF-16).
	maxNameBytes = 1024
	// minNTLMv2Response is NTProofStr (16), the fixed part of
	// NTLMv2_CLIENT_CHALLENGE (28) and at least MsvAvEOL (4).
	minNTLMv2Response = 16 + 28 + 4
	// ntlmV1ResponseLen is the length of an NTLM_RESPONSE (NTLMv1, with
	// or without extended session security).
	ntlmV1ResponseLen = 24
	// signatureSize is the size of NTLMSSP_MESSAGE_SIGNATURE.
	signatureSize = 16
)

// Fixed header sizes (MS-NLMP 2.2.1).
const (
	negotiateHeaderLen     = 32 // through WorkstationFields, without Version
	challengeHeaderLen     = 48 // through TargetInfoFields, without Version
	authenticateHeaderLen  = 64 // through NegotiateFlags, without Version and MIC
	authenticateVersionEnd = 72 // Version field end
	authenticateMICEnd     = 88 // MIC field end
)

// signature is the 8-byte NTLMSSP signature that starts every message.
var signature = [8]byte{'N', 'T', 'L', 'M', 'S', 'S', 'P', 0}

// productVersion is the VERSION structure (MS-NLMP 2.2.2.10) this package
// sends when NTLMSSP_NEGOTIATE_VERSION is negotiated: 10.0 build 20348
// (Windows Server 2022), NTLMSSP_REVISION_W2K3. It is informational only.
var productVersion = [8]byte{10, 0, 0x7c, 0x4f, 0, 0, 0, 0x0f}

// filetimeEpochDelta is the number of 100 ns intervals between
// 1601-01-01 and 1970-01-01 (UTC).
const filetimeEpochDelta = 116444736000000000

// toFiletime converts t to a Windows FILETIME (MS-DTYP 2.3.3).
// Times before 1601 map to 0.
func toFiletime(t time.Time) uint64 {
	ft := (t.Unix()+filetimeEpochDelta/1e7)*1e7 + int64(t.Nanosecond()/100)
	if ft < 0 {
		return 0
	}
	return uint64(ft)
}

// NTLM message types (MS-NLMP 2.2.1), as [MessageType] returns them.
const (
	TypeNegotiate    = 1
	TypeChallenge    = 2
	TypeAuthenticate = 3
)
