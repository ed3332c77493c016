package certmap

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
)

// OIDs read from client certificates.
var (
	// oidSubjectAltName is id-ce-subjectAltName (RFC 5280 4.2.1.6).
	oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}
	// oidUPN is szOID_NT_PRINCIPAL_NAME, the otherName type Windows uses
	// for a user principal name ("Other Name: Principal Name=" in the
	// certificate dialog; MS-WCCE, MS-PKCA).
	oidUPN = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}
)

// maxGeneralNames bounds the entries read from one subjectAltName.
const maxGeneralNames = 256

// ErrMalformedName means the client certificate's subjectAltName could
// not be decoded, or a name in it is unusable (too long, not UTF-8, or
// containing control characters).
var ErrMalformedName = errors.New("certmap: malformed name in client certificate")

// UserPrincipalNames returns the user principal names in cert's
// subjectAltName extension (otherName entries of type
// 1.3.6.1.4.1.311.20.2.3 holding a UTF8String), in certificate order. A
// certificate without the extension or without UPNs yields none and no
// error. The error wraps [ErrMalformedName].
func UserPrincipalNames(cert *x509.Certificate) ([]string, error) {
	if cert == nil {
		return nil, nil
	}
	var out []string
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(oidSubjectAltName) {
			continue
		}
		upns, err := parseUPNs(ext.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, upns...)
	}
	return out, nil
}

// parseUPNs decodes a DER GeneralNames value (RFC 5280 4.2.1.6) and
// returns the UPN otherNames it holds:
//
//	GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName
//	GeneralName  ::= CHOICE { otherName [0] IMPLICIT OtherName, ... }
//	OtherName    ::= SEQUENCE { type-id OBJECT IDENTIFIER,
//	                            value [0] EXPLICIT ANY DEFINED BY type-id }
//
// Other GeneralName choices are skipped; crypto/x509 already decodes the
// ones it knows.
func parseUPNs(der []byte) ([]string, error) {
	var seq asn1.RawValue
	rest, err := asn1.Unmarshal(der, &seq)
	if err != nil {
		return nil, fmt.Errorf("%w: subjectAltName: %v", ErrMalformedName, err)
	}
	if len(rest) != 0 || seq.Class != asn1.ClassUniversal || seq.Tag != asn1.TagSequence || !seq.IsCompound {
		return nil, fmt.Errorf("%w: subjectAltName is not a SEQUENCE", ErrMalformedName)
	}
	var out []string
	data := seq.Bytes
	for n := 0; len(data) > 0; n++ {
		if n == maxGeneralNames {
			return nil, fmt.Errorf("%w: more than %d names in subjectAltName", ErrMalformedName, maxGeneralNames)
		}
		var gn asn1.RawValue
		data, err = asn1.Unmarshal(data, &gn)
		if err != nil {
			return nil, fmt.Errorf("%w: subjectAltName entry %d: %v", ErrMalformedName, n, err)
		}
		if gn.Class != asn1.ClassContextSpecific || gn.Tag != 0 {
			continue
		}
		if !gn.IsCompound {
			return nil, fmt.Errorf("%w: otherName %d is not constructed", ErrMalformedName, n)
		}
		upn, ok, err := parseOtherName(gn.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: otherName %d: %v", ErrMalformedName, n, err)
		}
		if ok {
			out = append(out, upn)
		}
	}
	return out, nil
}

// parseOtherName decodes the contents of an otherName and returns its
// value when the type is the UPN.
func parseOtherName(b []byte) (string, bool, error) {
	var oid asn1.ObjectIdentifier
	rest, err := asn1.Unmarshal(b, &oid)
	if err != nil {
		return "", false, err
	}
	if !oid.Equal(oidUPN) {
		return "", false, nil
	}
	var wrapper asn1.RawValue
	rest, err = asn1.Unmarshal(rest, &wrapper)
	if err != nil {
		return "", false, err
	}
	if len(rest) != 0 || wrapper.Class != asn1.ClassContextSpecific || wrapper.Tag != 0 || !wrapper.IsCompound {
		return "", false, errors.New("UPN value is not [0] EXPLICIT")
	}
	var val asn1.RawValue
	rest, err = asn1.Unmarshal(wrapper.Bytes, &val)
	if err != nil {
		return "", false, err
	}
	if len(rest) != 0 || val.Class != asn1.ClassUniversal || val.Tag != asn1.TagUTF8String || val.IsCompound {
		return "", false, errors.New("UPN value is not a UTF8String")
	}
	s := string(val.Bytes)
	if err := checkText(s, maxSubjectLen); err != nil {
		return "", false, fmt.Errorf("UPN %v", err)
	}
	return s, true, nil
}

// subjectName picks the name of the client certificate that Subject
// patterns are matched against: the first UPN in the subjectAltName, as
// Windows' CertGetNameString(CERT_NAME_UPN_TYPE) returns it; without a
// UPN, and only when opts allow it, the first rfc822Name (e-mail) in the
// subjectAltName, then the subject's common name.
func subjectName(cert *x509.Certificate, opts Options) (string, error) {
	upns, err := UserPrincipalNames(cert)
	if err != nil {
		return "", err
	}
	if len(upns) > 0 {
		return upns[0], nil
	}
	if opts.EmailFallback && len(cert.EmailAddresses) > 0 {
		if err := checkText(cert.EmailAddresses[0], maxSubjectLen); err != nil {
			return "", fmt.Errorf("%w: e-mail address %v", ErrMalformedName, err)
		}
		return cert.EmailAddresses[0], nil
	}
	if opts.CommonNameFallback && cert.Subject.CommonName != "" {
		if err := checkText(cert.Subject.CommonName, maxSubjectLen); err != nil {
			return "", fmt.Errorf("%w: common name %v", ErrMalformedName, err)
		}
		return cert.Subject.CommonName, nil
	}
	return "", fmt.Errorf("%w: client certificate has no user principal name in its subjectAltName", ErrNoMapping)
}
