package wsman

import (
	"errors"
	"fmt"
)

// SOAP fault codes ([SOAP 1.2] 5.4.6).
const (
	CodeSender   = "Sender"
	CodeReceiver = "Receiver"
)

// Subcode is a namespace-qualified SOAP fault subcode.
type Subcode struct{ Space, Local string }

// Subcodes WinRM uses (DSP0226 14.6; winrm-protocol.md 7.2).
var (
	SubAccessDenied             = Subcode{NsWSMan, "AccessDenied"}
	SubInvalidSelectors         = Subcode{NsWSMan, "InvalidSelectors"}
	SubTimedOut                 = Subcode{NsWSMan, "TimedOut"}
	SubQuotaLimit               = Subcode{NsWSMan, "QuotaLimit"}
	SubInternalError            = Subcode{NsWSMan, "InternalError"}
	SubSchemaValidationError    = Subcode{NsWSMan, "SchemaValidationError"}
	SubInvalidValue             = Subcode{NsWSMan, "InvalidValue"}
	SubInvalidParameter         = Subcode{NsWSMan, "InvalidParameter"}
	SubUnsupportedFeature       = Subcode{NsWSMan, "UnsupportedFeature"}
	SubEncodingLimit            = Subcode{NsWSMan, "EncodingLimit"}
	SubInvalidOptions           = Subcode{NsWSMan, "InvalidOptions"}
	SubConcurrency              = Subcode{NsWSMan, "Concurrency"}
	SubActionNotSupported       = Subcode{NsAddressing, "ActionNotSupported"}
	SubDestinationUnreachable   = Subcode{NsAddressing, "DestinationUnreachable"}
	SubInvalidMessageInfoHeader = Subcode{NsAddressing, "InvalidMessageInformationHeader"}
	SubMessageInfoHeaderReq     = Subcode{NsAddressing, "MessageInformationHeaderRequired"}
	SubFilteringNotSupported    = Subcode{NsEnum, "FilteringNotSupported"}
	SubInvalidEnumContext       = Subcode{NsEnum, "InvalidEnumerationContext"}
)

// WSManFault codes ([MS-WSMV] 2.2.4.43; winerror.h ERROR_WSMAN_*).
const (
	ErrCodeAccessDenied          uint32 = 5
	ErrCodeNotSupported          uint32 = 50
	ErrCodeDirectoryInvalid      uint32 = 267
	ErrCodeOperationAborted      uint32 = 995
	ErrCodeInvalidParameter      uint32 = 87
	ErrCodeResourceNotFound      uint32 = 2150858752 // 0x80338000
	ErrCodeInvalidActionURI      uint32 = 2150858771 // 0x80338013 ACTION_NOT_SUPPORTED
	ErrCodeInvalidMessageHeader  uint32 = 2150858767 // 0x8033800F
	ErrCodeMessageHeaderRequired uint32 = 2150858769 // 0x80338011
	ErrCodeOperationTimedOut     uint32 = 2150858793 // 0x80338029
	ErrCodeEncodingLimit         uint32 = 2150858805 // 0x80338035
	ErrCodeInvalidOptions        uint32 = 2150858809 // 0x80338039
	ErrCodeInvalidSelectors      uint32 = 2150858813 // 0x8033803D
	ErrCodeSchemaValidation      uint32 = 2150858817 // 0x80338041
	ErrCodeUnsupportedFeature    uint32 = 2150858818 // 0x80338042
	ErrCodeMaxEnvelopeExceeded   uint32 = 2150858824 // 0x80338048
	ErrCodeInvalidResourceURI    uint32 = 2150858811 // 0x8033803B
	ErrCodeInvalidXML            uint32 = 2150858819 // 0x80338043
	ErrCodeAddressingMode        uint32 = 2150858870 // 0x80338076
	ErrCodeMinEnvelopeSize       uint32 = 2150858878 // 0x8033807E
	ErrCodeUnexpectedSelectors   uint32 = 2150858843 // 0x8033805B
	ErrCodeInvalidTimeoutHeader  uint32 = 2150858881 // 0x80338081
	ErrCodeQuotaMaxShells        uint32 = 2150859173 // 0x803381A5
	ErrCodeQuotaMaxOperations    uint32 = 2150859174 // 0x803381A6
	ErrCodeQuotaMaxShellUsers    uint32 = 2150859179 // 0x803381AB
	ErrCodeRemoteShellsNotAllow  uint32 = 2150859180 // 0x803381AC
	ErrCodeCommandTerminated     uint32 = 2150859212 // 0x803381CC
)

// Fault is a WS-Management SOAP fault in the shape Windows sends
// (winrm-protocol.md 7.1). It is an error; the service layer turns any
// *Fault into an HTTP 500 SOAP fault and anything else into InternalError.
type Fault struct {
	// Code is CodeSender or CodeReceiver.
	Code string
	// Subcode is the WS-Man or WS-Addressing subcode.
	Subcode Subcode
	// Reason is the s:Reason text; empty means Message.
	Reason string
	// Detail is the w:FaultDetail URI suffix (after FaultDetailPrefix), or
	// a full URI, or empty.
	Detail string
	// WSManCode is f:WSManFault/@Code.
	WSManCode uint32
	// Message is f:WSManFault/f:Message.
	Message string
	// Action overrides the fault's wsa:Action (WS-Addressing faults).
	Action string
}

// Error implements error.
func (f *Fault) Error() string {
	return fmt.Sprintf("wsman: fault %s/%s code %d: %s", f.Code, f.Subcode.Local, f.WSManCode, f.Message)
}

// AsFault returns the *Fault in err's chain, if any.
func AsFault(err error) (*Fault, bool) {
	var f *Fault
	ok := errors.As(err, &f)
	return f, ok
}

// Fault texts. Where Windows' exact English text is known it is used
// verbatim, trailing spaces included, because clients and users match on
// these strings (research notes: faults from recorded Windows replies).
const (
	reasonSelectors = "The WS-Management service cannot process the request because the request contained invalid selectors for the resource. "
	msgTimedOut     = "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  "
	msgNotFound     = "The request for the Windows Remote Shell with ShellId %s failed because the shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. Provide the correct ShellId or create a new shell and retry the operation. "
	msgNoCommand    = "The Windows Remote Shell received a request to perform an operation on a command identifier that does not exist. Either the command has completed execution or the client specified an invalid command identifier. "
	msgParameter    = "The parameter is incorrect. "
)

// FaultTimedOut is the Receive long-poll timeout fault (2150858793).
func FaultTimedOut() *Fault {
	return &Fault{Code: CodeReceiver, Subcode: SubTimedOut, WSManCode: ErrCodeOperationTimedOut, Message: msgTimedOut}
}

// FaultShellNotFound is returned for an unknown, expired or foreign ShellId.
func FaultShellNotFound(shellID string) *Fault {
	return &Fault{Code: CodeSender, Subcode: SubInvalidSelectors, Detail: "UnexpectedSelectors",
		WSManCode: ErrCodeUnexpectedSelectors, Reason: reasonSelectors, Message: fmt.Sprintf(msgNotFound, shellID)}
}

// FaultCommandNotFound is returned for a CommandId the shell does not
// know; Windows uses the shell-not-found code with its own message.
func FaultCommandNotFound() *Fault {
	return &Fault{Code: CodeSender, Subcode: SubInvalidSelectors, Detail: "UnexpectedSelectors",
		WSManCode: ErrCodeUnexpectedSelectors, Reason: reasonSelectors, Message: msgNoCommand}
}

// FaultAccessDenied is the authorization failure (code 5).
func FaultAccessDenied() *Fault {
	return &Fault{Code: CodeSender, Subcode: SubAccessDenied, WSManCode: ErrCodeAccessDenied, Message: "Access is denied. "}
}

// FaultMaxShells is the MaxShellsPerUser quota fault.
func FaultMaxShells(n uint32) *Fault {
	return &Fault{Code: CodeSender, Subcode: SubQuotaLimit, WSManCode: ErrCodeQuotaMaxShells,
		Reason:  "The WS-Management service cannot process the request. The maximum number of concurrent shells for this user has been exceeded. Close existing shells or raise the quota for this user. ",
		Message: fmt.Sprintf("The WS-Management service cannot process the request. This user is allowed a maximum number of %d concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user. ", n)}
}

// FaultMaxOperations is the MaxConcurrentOperationsPerUser quota fault.
func FaultMaxOperations(n uint32) *Fault {
	return &Fault{Code: CodeSender, Subcode: SubQuotaLimit, WSManCode: ErrCodeQuotaMaxOperations,
		Reason:  "The WS-Management service cannot process the request. The maximum number of concurrent operations for this user has been exceeded. Close existing operations for this user, or raise the quota for this user. ",
		Message: fmt.Sprintf("The WS-Management service cannot process the request. This user is allowed a maximum number of %d concurrent operations, which has been exceeded. Close existing operations for this user, or raise the quota for this user. ", n)}
}

// FaultMaxUsers is the MaxConcurrentUsers quota fault.
func FaultMaxUsers(n uint32) *Fault {
	return &Fault{Code: CodeSender, Subcode: SubQuotaLimit, WSManCode: ErrCodeQuotaMaxShellUsers,
		Reason:  "The WS-Management service cannot process the request. The maximum number of users executing shell operations has been exceeded. Retry after some time or raise the quota for concurrent shell users. ",
		Message: fmt.Sprintf("The WS-Management service cannot process the request. The maximum number of users executing shell operations (%d) has been exceeded. Retry after some time or raise the quota for concurrent shell users. ", n)}
}

// FaultShellAccessDisabled answers shell creation when AllowRemoteShellAccess is false.
func FaultShellAccessDisabled() *Fault {
	return &Fault{Code: CodeSender, Subcode: SubAccessDenied, WSManCode: ErrCodeRemoteShellsNotAllow,
		Message: "The WS-Management service cannot process the request. The service is configured to not accept any remote shell requests. "}
}

// FaultActionNotSupported answers an unknown or unsupported action.
func FaultActionNotSupported(action string) *Fault {
	return &Fault{Code: CodeSender, Subcode: SubActionNotSupported, Detail: "ActionMismatch",
		WSManCode: ErrCodeInvalidActionURI, Action: ActionAddrFault,
		Reason:  "The WS-Management service does not support the action specified in the request. ",
		Message: "The WS-Management service does not support the action " + action + " for this resource. "}
}

// FaultDestinationUnreachable answers an unknown resource URI.
func FaultDestinationUnreachable(uri string) *Fault {
	return &Fault{Code: CodeSender, Subcode: SubDestinationUnreachable, Detail: "InvalidResourceURI",
		WSManCode: ErrCodeInvalidResourceURI, Action: ActionAddrFault,
		Reason:  "The WS-Management service cannot process the request. The service cannot find the resource identified by the resource URI and selectors. ",
		Message: "The WS-Management service cannot process the request. The resource URI (" + uri + ") was not found in the WS-Management catalog. The catalog contains the metadata that describes resources, or logical endpoints. "}
}

// FaultHeaderRequired answers a missing mandatory header.
func FaultHeaderRequired(header string) *Fault {
	return &Fault{Code: CodeSender, Subcode: SubMessageInfoHeaderReq, WSManCode: ErrCodeMessageHeaderRequired, Action: ActionAddrFault,
		Reason:  "The WS-Management service cannot process the request. The request does not have all the expected SOAP headers. ",
		Message: "The WS-Management service cannot process the request. The request does not have all the expected SOAP headers: " + header + " is missing. "}
}

// FaultInvalidHeader answers an invalid header value.
func FaultInvalidHeader(detail string) *Fault {
	return &Fault{Code: CodeSender, Subcode: SubInvalidMessageInfoHeader, WSManCode: ErrCodeInvalidMessageHeader, Action: ActionAddrFault,
		Reason:  "The WS-Management service cannot process the request. The request contains one or more invalid SOAP headers. ",
		Message: "The WS-Management service cannot process the request. The request contains one or more invalid SOAP headers: " + detail + ". "}
}

// FaultInvalidTimeout answers a malformed OperationTimeout; raw is the
// value as sent.
func FaultInvalidTimeout(raw string) *Fault {
	return &Fault{Code: CodeSender, Subcode: SubInvalidMessageInfoHeader, WSManCode: ErrCodeInvalidMessageHeader, Action: ActionAddrFault,
		Message: "The WS-Management service cannot process the request. The XML contains an invalid timeout field in the SOAP header: " + raw + ". "}
}

// FaultAddressingMode answers a ReplyTo or FaultTo that is not anonymous.
func FaultAddressingMode() *Fault {
	return &Fault{Code: CodeSender, Subcode: SubUnsupportedFeature, Detail: "AddressingMode", WSManCode: ErrCodeAddressingMode,
		Message: "The WS-Management service does not support the addressing mode. "}
}

// FaultUnsupportedFeature answers a feature psremote or the resource lacks.
func FaultUnsupportedFeature(detail, msg string) *Fault {
	return &Fault{Code: CodeSender, Subcode: SubUnsupportedFeature, Detail: detail, WSManCode: ErrCodeUnsupportedFeature,
		Message: msg}
}

// FaultEnvelopeTooSmall answers wsman:MaxEnvelopeSize below 8192.
func FaultEnvelopeTooSmall() *Fault {
	return &Fault{Code: CodeSender, Subcode: SubEncodingLimit, Detail: "MinimumEnvelopeLimit", WSManCode: ErrCodeMinEnvelopeSize,
		Message: "The WS-Management service cannot process the request because the envelope size in the request is too small. "}
}

// FaultInvalidOptions answers an unsupported option marked MustComply.
func FaultInvalidOptions(name string) *Fault {
	return &Fault{Code: CodeSender, Subcode: SubInvalidOptions, Detail: "NotSupported", WSManCode: ErrCodeInvalidOptions,
		Reason:  "The WS-Management service cannot process the request because one or more options are not valid. The option names or values may not be valid or they are used in incorrect combinations. Retrieve the catalog entry for the resource and determine how to correct the invalid option values. ",
		Message: "The WS-Management service cannot process the request because the option " + name + " is marked MustComply and is not supported. "}
}

// FaultInvalidXML answers a body that is not well-formed, namespace-valid
// XML within the parser's limits.
func FaultInvalidXML(detail string) *Fault {
	return &Fault{Code: CodeSender, Subcode: SubInternalError, Detail: "Invalid", WSManCode: ErrCodeInvalidXML,
		Reason:  "The WS-Management service cannot process the request because the XML is invalid. ",
		Message: "WinRM cannot process the request because the input XML contains a syntax error: " + detail + ". "}
}

// FaultSchema answers a well-formed body that is not valid for its
// action; modern Windows answers InvalidValue "The parameter is
// incorrect." ([MS-WSMV] note <89>).
func FaultSchema(detail string) *Fault {
	return &Fault{Code: CodeSender, Subcode: SubInvalidValue, WSManCode: ErrCodeInvalidParameter,
		Reason: msgParameter, Message: msgParameter + detail + ". "}
}

// FaultInvalidParameter answers an invalid value in an otherwise valid request.
func FaultInvalidParameter(detail string) *Fault {
	return &Fault{Code: CodeSender, Subcode: SubInvalidParameter, WSManCode: ErrCodeInvalidParameter,
		Reason: msgParameter, Message: msgParameter + detail + ". "}
}

// FaultInternal wraps a server-side failure. The message is shown to the
// client, so it must not contain secrets.
func FaultInternal(code uint32, msg string) *Fault {
	return &Fault{Code: CodeReceiver, Subcode: SubInternalError, WSManCode: code, Message: msg}
}

// FaultNotSupportedChunked answers shell verbs sent with chunked transfer
// encoding ([MS-WSMV] 3.1.4.1.31.8).
func FaultNotSupportedChunked() *Fault {
	return FaultInternal(ErrCodeNotSupported, "The request is not supported. ")
}

// FaultAborted completes a Receive whose shell was deleted meanwhile.
func FaultAborted() *Fault {
	return FaultInternal(ErrCodeOperationAborted, "The I/O operation has been aborted because of either a thread exit or an application request. ")
}

// FaultResponseTooLarge is returned when a reply cannot fit the client's
// MaxEnvelopeSize.
func FaultResponseTooLarge(size, max int) *Fault {
	return &Fault{Code: CodeSender, Subcode: SubEncodingLimit, Detail: "MaxEnvelopeSize", WSManCode: ErrCodeMaxEnvelopeExceeded,
		Message: fmt.Sprintf("The WS-Management service cannot process the request. The computed response packet size (%d) exceeds the maximum envelope size that is allowed (%d). ", size, max)}
}
