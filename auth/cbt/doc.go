// Package cbt computes TLS channel bindings for GSS-API mechanisms and
// names the policies that govern them.
//
// It implements the tls-server-end-point binding type of RFC 5929
// section 4 (the hash of the server certificate, SHA-256 when the
// certificate is signed with MD5 or SHA-1), the gss_channel_bindings
// structure of RFC 2744 section 3.11 as RFC 4121 section 4.1.1.2 and
// MS-NLMP section 2.2.2.1 (MsvAvChannelBindings) hash it, and WinRM's
// CbtHardeningLevel (MS-WSMV section 3.1.4.1.5; winrm-protocol.md 9.6).
package cbt
