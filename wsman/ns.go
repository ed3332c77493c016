package wsman

// Namespace URIs (winrm-protocol.md 2.1; [MS-WSMV] 2.2.1).
const (
	NsSOAP       = "http://www.w3.org/2003/05/soap-envelope"
	NsAddressing = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	NsWSMan      = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
	NsWSMV       = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
	NsTransfer   = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
	NsEnum       = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
	NsShell      = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
	NsConfig     = "http://schemas.microsoft.com/wbem/wsman/1/config"
	NsFault      = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
	NsIdentity   = "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"
	NsXSI        = "http://www.w3.org/2001/XMLSchema-instance"
)

// Action URIs ([MS-WSMV] 3.1.4; winrm-protocol.md 3).
const (
	ActionGet        = NsTransfer + "/Get"
	ActionPut        = NsTransfer + "/Put"
	ActionCreate     = NsTransfer + "/Create"
	ActionDelete     = NsTransfer + "/Delete"
	ActionEnumerate  = NsEnum + "/Enumerate"
	ActionPull       = NsEnum + "/Pull"
	ActionRelease    = NsEnum + "/Release"
	ActionCommand    = NsShell + "/Command"
	ActionSend       = NsShell + "/Send"
	ActionReceive    = NsShell + "/Receive"
	ActionSignal     = NsShell + "/Signal"
	ActionFault      = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
	ActionAddrFault  = NsAddressing + "/fault"
	AddressAnonymous = NsAddressing + "/role/anonymous"
)

// Resource URIs.
const (
	// ResourceShellBase is the base URI for Get and Enumerate of shells of
	// any type ([MS-WSMV] 3.1.4.2.1, notes <103>, <114>).
	ResourceShellBase = NsShell
	// ResourceCmdShell is the WinRS command shell.
	ResourceCmdShell = NsShell + "/cmd"
)

// Shell command states ([MS-WSMV] 2.2.4.9).
const (
	CommandStateDone    = NsShell + "/CommandState/Done"
	CommandStatePending = NsShell + "/CommandState/Pending"
	CommandStateRunning = NsShell + "/CommandState/Running"
)

// Signal codes ([MS-WSMV] 2.2.4.38). Compare with strings.EqualFold.
const (
	SignalTerminate = NsShell + "/signal/terminate"
	SignalCtrlC     = NsShell + "/signal/ctrl_c"
	SignalCtrlBreak = NsShell + "/signal/ctrl_break"
)

// FaultDetailPrefix prefixes w:FaultDetail URIs ([MS-WSMV] 3.1.4.1.21).
const FaultDetailPrefix = "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/"

// Security profile URIs reported by authenticated Identify.
const SecProfilePrefix = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/"
