// Package ntlm implements NTLMv2 authentication with session security, as
// both acceptor ([Server], [ServerContext]) and initiator
// ([ClientContext]), by hand from [MS-NLMP]. It sees raw NTLMSSP messages;
// SPNEGO wrapping and HTTP framing belong to other packages.
//
// Implemented, connection-oriented only:
//   - Messages: NEGOTIATE, CHALLENGE and AUTHENTICATE (MS-NLMP 2.2.1.1 to
//     2.2.1.3), AV_PAIR (2.2.2.1), NTLMv2_CLIENT_CHALLENGE and
//     NTLMv2_RESPONSE (2.2.2.7, 2.2.2.8), NTLMSSP_MESSAGE_SIGNATURE with and
//     without extended session security (2.2.2.9), VERSION (2.2.2.10).
//   - Client processing (3.1.5.1): NTLMv2 response over the server's
//     TargetInfo with MsvAvFlags, MsvAvChannelBindings and
//     MsvAvTargetName, the server's MsvAvTimestamp, key exchange, MIC.
//   - Server processing (3.2.5.1): CHALLENGE with TargetInfo and
//     MsvAvTimestamp, NTLMv2 verification through a [Validator] (the
//     NTOWFv2 and ComputeResponse of 3.3.2), KXKEY, EncryptedRandomSessionKey,
//     MIC verification, channel binding verification (with the
//     CbtHardeningLevel of package cbt), optional timestamp window.
//   - Session security (3.4): SIGNKEY and SEALKEY for 128, 56 and 40 bits
//     (3.4.5), MAC with and without extended session security (3.4.4),
//     sealing (3.4.3), GSS_WrapEx/GSS_GetMIC equivalents (3.4.6 to 3.4.9),
//     and the WinRM framing of sealed messages (MS-WSMV 2.2.9.1).
//
// Refused with [ErrUnsupported]: LM and NTLMv1 responses (including NTLMv1
// with extended session security), anonymous authentication, connectionless
// NTLM, LM_KEY, and by default (as on Windows 7 and later) session security
// without 128-bit keys. The server never negotiates LM_KEY, datagram or
// identify.
//
// Both sides compute the NT hash with MD4 (RFC 1320) and the rest with
// HMAC-MD5 and RC4, as the protocol requires; nothing here depends on a
// system library.
//
// # Order of session-security operations
//
// NTLM keeps one RC4 state and one sequence number per direction. Sealing
// a message, and with key exchange also signing one (the checksum is
// RC4-encrypted), advances them, so signatures for SPNEGO's mechListMIC
// ([Session.Sign], [Session.Verify]) and sealed WinRM messages
// ([Session.WrapWinRM], [Session.UnwrapWinRM]) must be produced and
// checked in the same order on both sides. SPNEGO then resets the RC4
// state with [Session.ResetRC4] after the mechListMIC. Without extended
// session security one RC4 state serves both directions (half duplex).
//
// References:
//   - [MS-NLMP]: NT LAN Manager (NTLM) Authentication Protocol.
//   - [MS-WSMV] 2.2.9.1: encrypted message types.
//   - RFC 2744 3.11, RFC 4121 4.1.1.2 and RFC 5929 4: channel bindings.
//
// [MS-NLMP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-nlmp/
// [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
package ntlm
