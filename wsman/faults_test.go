package wsman

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Fault constructors and the optional parts of the fault and Identify
// encodings; the golden fault shapes are in golden_test.go.

// TestFaultConstructors checks every fault constructor against the
// Windows values in faults.md and the encoding rules: WS-Addressing
// subcodes use the addressing fault action, everything else the WS-Man
// one; texts end in a space as FormatMessage leaves them.
func TestFaultConstructors(t *testing.T) {
	const sender, receiver = CodeSender, CodeReceiver
	tests := []struct {
		name    string
		f       *Fault
		code    string
		sub     Subcode
		wsman   uint32
		detail  string
		message string // exact, or "" to skip
	}{
		{"TimedOut", FaultTimedOut(), receiver, SubTimedOut, 2150858793, "",
			"The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  "},
		{"ShellNotFound", FaultShellNotFound("91564AC3-CEAF-4C7A-B58C-82BC2528BD54"), sender, SubInvalidSelectors, 2150858843, "UnexpectedSelectors",
			"The request for the Windows Remote Shell with ShellId 91564AC3-CEAF-4C7A-B58C-82BC2528BD54 failed because the shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. Provide the correct ShellId or create a new shell and retry the operation. "},
		{"CommandNotFound", FaultCommandNotFound(), sender, SubInvalidSelectors, 2150858843, "UnexpectedSelectors", ""},
		{"AccessDenied", FaultAccessDenied(), sender, SubAccessDenied, 5, "", "Access is denied. "},
		{"MaxShells", FaultMaxShells(5), sender, SubQuotaLimit, 2150859173, "",
			"The WS-Management service cannot process the request. This user is allowed a maximum number of 5 concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user. "},
		{"MaxOperations", FaultMaxOperations(15), sender, SubQuotaLimit, 2150859174, "",
			"The WS-Management service cannot process the request. This user is allowed a maximum number of 15 concurrent operations, which has been exceeded. Close existing operations for this user, or raise the quota for this user. "},
		{"MaxUsers", FaultMaxUsers(5), sender, SubQuotaLimit, 2150859179, "", ""},
		{"ShellAccessDisabled", FaultShellAccessDisabled(), sender, SubAccessDenied, 2150859180, "",
			"The WS-Management service cannot process the request. The service is configured to not accept any remote shell requests. "},
		{"ActionNotSupported", FaultActionNotSupported("urn:x"), sender, SubActionNotSupported, 2150858771, "ActionMismatch", ""},
		{"DestinationUnreachable", FaultDestinationUnreachable("http://schemas.microsoft.com/powershell/MaintenanceShell"), sender, SubDestinationUnreachable, 2150858811, "InvalidResourceURI",
			"The WS-Management service cannot process the request. The resource URI (http://schemas.microsoft.com/powershell/MaintenanceShell) was not found in the WS-Management catalog. The catalog contains the metadata that describes resources, or logical endpoints. "},
		{"HeaderRequired", FaultHeaderRequired("wsa:ReplyTo"), sender, SubMessageInfoHeaderReq, 2150858769, "", ""},
		{"InvalidHeader", FaultInvalidHeader("x"), sender, SubInvalidMessageInfoHeader, 2150858767, "", ""},
		{"InvalidTimeout", FaultInvalidTimeout("P"), sender, SubInvalidMessageInfoHeader, 2150858767, "",
			"The WS-Management service cannot process the request. The XML contains an invalid timeout field in the SOAP header: P. "},
		{"AddressingMode", FaultAddressingMode(), sender, SubUnsupportedFeature, 2150858870, "AddressingMode", ""},
		{"UnsupportedFeature", FaultUnsupportedFeature("Locale", "m. "), sender, SubUnsupportedFeature, 2150858818, "Locale", "m. "},
		{"EnvelopeTooSmall", FaultEnvelopeTooSmall(), sender, SubEncodingLimit, 2150858878, "MinimumEnvelopeLimit", ""},
		{"InvalidOptions", FaultInvalidOptions("X"), sender, SubInvalidOptions, 2150858809, "NotSupported", ""},
		{"InvalidXML", FaultInvalidXML("x"), sender, SubInternalError, 2150858819, "Invalid", ""},
		{"Schema", FaultSchema("x"), sender, SubInvalidValue, 87, "", "The parameter is incorrect. x. "},
		{"InvalidParameter", FaultInvalidParameter("x"), sender, SubInvalidParameter, 87, "", ""},
		{"Internal", FaultInternal(5, "m. "), receiver, SubInternalError, 5, "", "m. "},
		{"NotSupportedChunked", FaultNotSupportedChunked(), receiver, SubInternalError, 50, "", "The request is not supported. "},
		{"Aborted", FaultAborted(), receiver, SubInternalError, 995, "", ""},
		{"ResponseTooLarge", FaultResponseTooLarge(976820, 512000), sender, SubEncodingLimit, 2150858824, "MaxEnvelopeSize",
			"The WS-Management service cannot process the request. The computed response packet size (976820) exceeds the maximum envelope size that is allowed (512000). "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f
			if f.Code != tt.code || f.Subcode != tt.sub || f.WSManCode != tt.wsman || f.Detail != tt.detail {
				t.Errorf("fault = %s/%v/%d/%q; want %s/%v/%d/%q", f.Code, f.Subcode, f.WSManCode, f.Detail, tt.code, tt.sub, tt.wsman, tt.detail)
			}
			if tt.message != "" && f.Message != tt.message {
				t.Errorf("Message = %q; want %q", f.Message, tt.message)
			}
			if !strings.HasSuffix(f.Message, " ") || (f.Reason != "" && !strings.HasSuffix(f.Reason, " ")) {
				t.Errorf("Reason %q / Message %q; want both to end in a space", f.Reason, f.Message)
			}
			data := EncodeFault(f, "uuid:1", "host")
			v, _ := viewFault(t, data)
			wantAction := ActionFault
			if tt.sub.Space == NsAddressing {
				wantAction = ActionAddrFault
			}
			wantReason := f.Reason
			if wantReason == "" {
				wantReason = f.Message
			}
			wantDetail := ""
			if tt.detail != "" {
				wantDetail = FaultDetailPrefix + tt.detail
			}
			checks := []struct {
				name      string
				got, want any
			}{
				{"Action", v.Action, wantAction},
				{"Code", v.Code, "{" + NsSOAP + "}" + tt.code},
				{"Subcode", v.Subcode, "{" + tt.sub.Space + "}" + tt.sub.Local},
				{"Reason", v.Reason, wantReason},
				{"Message", v.Message, f.Message},
				{"FaultDetail", v.FaultDetail, wantDetail},
				{"WSManFault Code", v.WSManCode, strconv.FormatUint(uint64(tt.wsman), 10)},
				{"Machine", v.Machine, "host"},
				{"RelatesTo", v.RelatesTo, "uuid:1"},
				{"Reason xml:lang", v.ReasonLang, "en-US"},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %#v; want %#v", c.name, c.got, c.want)
				}
			}
			if f.Error() == "" {
				t.Errorf("Error() is empty")
			}
		})
	}
}

// TestEncodeFaultDetails covers the optional parts of the fault encoding.
func TestEncodeFaultDetails(t *testing.T) {
	tests := []struct {
		name            string
		f               *Fault
		machine         string
		wantDetail      string
		wantSubcode     string
		wantDetailOrder string
	}{
		{"full detail URI kept", &Fault{Code: CodeSender, Subcode: SubInvalidValue, Detail: "http://example.com/d", Message: "m"}, "",
			"http://example.com/d", "{" + NsWSMan + "}InvalidValue", "FaultDetail,WSManFault"},
		{"no detail", &Fault{Code: CodeReceiver, Subcode: SubTimedOut, Message: "m"}, "h",
			"", "{" + NsWSMan + "}TimedOut", "WSManFault"},
		{"enumeration subcode", &Fault{Code: CodeSender, Subcode: SubInvalidEnumContext, Message: "m"}, "h",
			"", "{" + NsEnum + "}InvalidEnumerationContext", "WSManFault"},
		{"no subcode", &Fault{Code: "MustUnderstand", Message: "m"}, "h",
			"", "{}", "WSManFault"},
		{"escaped machine and message", &Fault{Code: CodeSender, Subcode: SubInvalidValue, Message: `a<b>&"c"` + "\x01"}, `h"<&>`,
			"", "{" + NsWSMan + "}InvalidValue", "WSManFault"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, root := viewFault(t, EncodeFault(tt.f, "", tt.machine))
			if v.FaultDetail != tt.wantDetail {
				t.Errorf("FaultDetail = %q; want %q", v.FaultDetail, tt.wantDetail)
			}
			if tt.f.Subcode.Local == "" {
				if sc := descend(root, qn(NsSOAP, "Body"), qn(NsSOAP, "Fault"), qn(NsSOAP, "Code"), qn(NsSOAP, "Subcode")); sc != nil {
					t.Errorf("s:Subcode present; want none")
				}
			} else if v.Subcode != tt.wantSubcode {
				t.Errorf("Subcode = %q; want %q", v.Subcode, tt.wantSubcode)
			}
			if got := strings.Join(v.DetailOrder, ","); got != tt.wantDetailOrder {
				t.Errorf("s:Detail children = %s; want %s", got, tt.wantDetailOrder)
			}
			if v.Machine != tt.machine || !v.HasMachine {
				t.Errorf("Machine = %q, %v; want %q, true", v.Machine, v.HasMachine, tt.machine)
			}
			if want := strings.ReplaceAll(tt.f.Message, "\x01", "?"); v.Message != want {
				t.Errorf("Message = %q; want %q", v.Message, want)
			}
			if headerElem(root, NsAddressing, "RelatesTo") != nil {
				t.Errorf("RelatesTo present for an empty relatesTo")
			}
		})
	}
}

// TestAsFault checks that faults are found through wrapping.
func TestAsFault(t *testing.T) {
	f := FaultAccessDenied()
	wrapped := &wrapErr{f}
	if got, ok := AsFault(wrapped); !ok || got != f {
		t.Errorf("AsFault(wrapped) = %v, %v; want %v, true", got, ok, f)
	}
	if _, ok := AsFault(ErrXMLLimit); ok {
		t.Errorf("AsFault(ErrXMLLimit) = true; want false")
	}
}

type wrapErr struct{ err error }

func (w *wrapErr) Error() string { return "wrapped: " + w.err.Error() }
func (w *wrapErr) Unwrap() error { return w.err }

// TestEncodeIdentify checks the IdentifyResponse shapes of faults.md j.
func TestEncodeIdentify(t *testing.T) {
	tests := []struct {
		name     string
		info     IdentifyInfo
		profiles int
	}{
		{"anonymous", IdentifyInfo{ProductVendor: "Microsoft Corporation", ProductVersion: "OS: 0.0.0 SP: 0.0 Stack: 3.0"}, 0},
		{"authenticated", IdentifyInfo{ProductVendor: "psremote", ProductVersion: "OS: 6.3.9600 SP: 0.0 Stack: 3.0",
			SecurityProfiles: []string{SecProfilePrefix + "http/basic", SecProfilePrefix + "http/spnego-kerberos"}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := mustParseTree(t, EncodeIdentify(tt.info))
			hdr := root.Child(NsSOAP, "Header")
			if hdr == nil || len(hdr.Children) != 0 {
				t.Errorf("s:Header = %+v; want present and empty", hdr)
			}
			ir := descend(root, qn(NsSOAP, "Body"), qn(NsIdentity, "IdentifyResponse"))
			got := []string{
				ir.Child(NsIdentity, "ProtocolVersion").Text,
				ir.Child(NsIdentity, "ProductVendor").Text,
				ir.Child(NsIdentity, "ProductVersion").Text,
			}
			want := []string{NsWSMan, tt.info.ProductVendor, tt.info.ProductVersion}
			if !slices.Equal(got, want) {
				t.Errorf("IdentifyResponse = %q; want %q", got, want)
			}
			var profiles []string
			for _, p := range ir.Child(NsIdentity, "SecurityProfiles").ChildrenNamed(NsIdentity, "SecurityProfileName") {
				profiles = append(profiles, p.Text)
			}
			if len(profiles) != tt.profiles || !slices.Equal(profiles, tt.info.SecurityProfiles) {
				t.Errorf("SecurityProfiles = %q; want %q", profiles, tt.info.SecurityProfiles)
			}
			if tt.profiles == 0 && ir.Child(NsIdentity, "SecurityProfiles") != nil {
				t.Errorf("SecurityProfiles element present; want none")
			}
		})
	}
}
