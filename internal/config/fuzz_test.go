package config

import "testing"

// FuzzParse feeds arbitrary YAML to the configuration loader: it must
// never panic, and an accepted configuration must be valid.
func FuzzParse(f *testing.F) {
	f.Add([]byte("MaxEnvelopeSizekb: 500\nListeners: [{Transport: HTTP, Port: 0}]\n"))
	f.Add([]byte("Winrs: {MaxShellsPerUser: 0}\nService: {Auth: {Basic: false}}\n"))
	f.Add([]byte("Listeners: [{Transport: HTTPS, CertificateThumbprint: abc}]"))
	f.Add([]byte("&a [*a, *a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted an invalid configuration: %v", err)
		}
		for _, l := range c.Listeners {
			if l.Port == nil || l.Enabled == nil {
				t.Fatal("listener defaults not applied")
			}
		}
	})
}
