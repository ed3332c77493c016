// Package encrypt frames WinRM SOAP messages protected by an established
// security context (NTLM, Kerberos or CredSSP) as the multipart HTTP
// bodies of MS-WSMV 2.2.9.1, in both directions: [Seal] builds a body and
// its Content-Type, [Open] parses one and returns the plaintext. The
// cryptography belongs to the context, seen through the [Wrapper]
// interface (auth/ntlm.Session, auth/kerberos.Context, later CredSSP).
//
// # Wire format
//
// The Content-Type is
//
//	multipart/encrypted;protocol="<protocol>";boundary="Encrypted Boundary"
//
// with protocol [ProtocolSPNEGO], [ProtocolKerberos] or [ProtocolCredSSP].
// The body is, byte for byte (CRLF line ends, header lines indented with a
// TAB, no blank line before a part's data, no CRLF before a delimiter):
//
//	--Encrypted Boundary\r\n
//	\tContent-Type: <protocol>\r\n
//	\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=<n>\r\n
//	--Encrypted Boundary\r\n
//	\tContent-Type: application/octet-stream\r\n
//	<uint32 little-endian L><L-byte security header><ciphertext>--Encrypted Boundary--\r\n
//
// which is what pywinrm (winrm/encryption.py) and pypsrp produce and
// Windows accepts. For NTLM and Kerberos the ciphertext has the
// plaintext's length. For CredSSP the wrapper's output is TLS records and
// L is the TLS trailer length; a CredSSP [Wrapper] returns its records
// split after L bytes, so that L||header||ciphertext is the 4-byte length
// followed by the records. CredSSP plaintext above 16 KiB is cut into
// 16384-byte chunks, one metadata part and one data part each, under
// multipart/x-multi-encrypted (MS-WSMV 2.2.9.1.3.2).
//
// # Tolerance
//
// [Open] accepts what real peers send besides the canonical form: header
// lines with or without the TAB, header names in any case, OriginalContent
// parameters in any order (Length= anywhere), whitespace between "--" and
// the boundary (as in the MS-WSMV 4.5 example), a final delimiter without
// the closing "--" (old pywinrm) or none at all, a CRLF before a delimiter
// when the ciphertext length says so, and bare LF line ends. It is strict
// where a mistake would matter: the 4-byte header length must fit in the
// part, every part's decrypted length must equal its Length=, the total
// plaintext is bounded by the caller's limit, and the number of parts by
// [MaxParts]. Nothing in a body can make Open panic.
//
// References:
//   - [MS-WSMV] 2.2.9.1: encrypted message types (2.2.9.1.1
//     NegotiateEncryptedMessage, 2.2.9.1.2 KerberosEncryptedMessage,
//     2.2.9.1.3 CredSSPEncryptedMessage), and the 4.5 encryption example.
//   - RFC 1847 section 2.2 (multipart/encrypted) and RFC 2046 section
//     5.1.1 (boundary delimiters).
//
// [MS-WSMV]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/
package encrypt
