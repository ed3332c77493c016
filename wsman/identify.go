package wsman

import "bytes"

// IdentifyInfo is the content of an IdentifyResponse ([MS-WSMV] 3.1.4.1.23).
type IdentifyInfo struct {
	ProductVendor  string
	ProductVersion string
	// SecurityProfiles lists profile URIs; only sent to authenticated
	// clients.
	SecurityProfiles []string
}

// ProtocolVersion is the WS-Management protocol version reported by Identify.
const ProtocolVersion = NsWSMan

// EncodeIdentify renders a complete IdentifyResponse envelope. Identify
// replies carry no addressing headers, as Windows sends them.
func EncodeIdentify(info IdentifyInfo) []byte {
	var b bytes.Buffer
	b.WriteString(`<s:Envelope xml:lang="en-US" xmlns:s="` + NsSOAP + `"><s:Header/><s:Body>`)
	b.WriteString(`<wsmid:IdentifyResponse xmlns:wsmid="` + NsIdentity + `">`)
	el(&b, "wsmid:ProtocolVersion", ProtocolVersion)
	el(&b, "wsmid:ProductVendor", info.ProductVendor)
	el(&b, "wsmid:ProductVersion", info.ProductVersion)
	if len(info.SecurityProfiles) > 0 {
		b.WriteString(`<wsmid:SecurityProfiles>`)
		for _, p := range info.SecurityProfiles {
			el(&b, "wsmid:SecurityProfileName", p)
		}
		b.WriteString(`</wsmid:SecurityProfiles>`)
	}
	b.WriteString(`</wsmid:IdentifyResponse></s:Body></s:Envelope>`)
	return b.Bytes()
}
