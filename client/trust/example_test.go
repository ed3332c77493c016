package trust_test

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/psremote/psremote/client/trust"
)

func ExampleParseTrustedHosts() {
	th, err := trust.ParseTrustedHosts("*.lab.example.com, web*, <local>, 192.168.56.*, [::1]")
	if err != nil {
		panic(err)
	}
	for _, host := range []string{"db.lab.example.com:5985", "lab.example.com", "web07.corp", "build", "192.168.56.10", "[::1]:5985", "10.0.0.1"} {
		fmt.Println(host, th.Match(host))
	}
	// Output:
	// db.lab.example.com:5985 true
	// lab.example.com false
	// web07.corp true
	// build true
	// 192.168.56.10 true
	// [::1]:5985 true
	// 10.0.0.1 false
}

// The client's HTTPS setup: pin on first use, report what happened, and
// explain a changed certificate.
func ExampleKnownHosts_TLSConfig() {
	cfg, err := trust.LoadConfig("") // ~/.config/psremote/config.yaml
	if err != nil {
		panic(err)
	}
	known, err := trust.Open(cfg.KnownHostsFile)
	if err != nil {
		panic(err)
	}
	policy := trust.DefaultPolicy()
	policy.OnAccept = func(hostport string, how trust.Outcome, fp string) {
		if how == trust.OutcomeNew {
			fmt.Printf("Pinned the certificate of %s (%s) in %s\n", hostport, fp, known.Path())
		}
	}
	tlsConfig, err := known.TLSConfig("winhost:5986", policy)
	if err != nil {
		panic(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig}}
	_, err = client.Post("https://winhost:5986/wsman", "application/soap+xml;charset=UTF-8", nil)
	if ce, ok := errors.AsType[*trust.ChangedError](err); ok {
		fmt.Printf("WARNING: the certificate of %s has changed!\nknown: %s\nnow:   %s\n", ce.Host, ce.Known, ce.Got)
	}
}

// Before sending Basic credentials over http://.
func ExampleConfig_PermitUnencrypted() {
	cfg := &trust.Config{TrustedHosts: "web1", AllowUnencrypted: false, Path: "/home/u/.config/psremote/config.yaml"}
	fmt.Println(cfg.PermitUnencrypted("web1:5985"))
	cfg.AllowUnencrypted = true
	fmt.Println(cfg.PermitUnencrypted("web1:5985"))
	// Output:
	// trust: refusing to send Basic credentials to web1:5985 over unencrypted HTTP: AllowUnencrypted is false (set "AllowUnencrypted: true" in /home/u/.config/psremote/config.yaml); or connect over HTTPS
	// <nil>
}
