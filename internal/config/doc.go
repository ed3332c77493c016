// Package config loads the server configuration: a YAML file whose keys
// are WinRM's own names for the `winrm/config` tree, with Windows'
// defaults.
//
// References:
//   - [MS-WSMV] 2.2.4.10 ConfigType, 2.2.4.19 ListenerType,
//     2.2.4.34 ServiceAuthType, 2.2.4.36 ServiceType, 2.2.4.42 WinrsType.
//
// A complete file with every key and its default is in
// docs/psremote.yaml; see README.
package config
