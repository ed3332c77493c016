package client_test

import (
	"context"
	"crypto/tls"
	"fmt"

	"github.com/psremote/psremote/client"
)

// A domain user on a Windows host over HTTP: Kerberos when a ticket can
// be had (every message sealed), else NTLM, which over plain HTTP needs
// the host in TrustedHosts.
func ExampleNegotiate() {
	c, err := client.New(client.Config{
		Endpoint:     "http://web1.corp.example.com:5985/wsman",
		Auth:         client.Negotiate(`CORP\alice`, "secret", client.KerberosOptions{}),
		TrustedHosts: "*.corp.example.com",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	out, err := runHostname(c)
	fmt.Println(string(out), err)
}

// Kerberos from the ticket cache kinit left ($KRB5CCNAME), with the
// WSMAN service principal some servers are registered under.
func ExampleKerberos() {
	c, err := client.New(client.Config{
		Endpoint: "https://web1.corp.example.com:5986/wsman",
		Auth:     client.Kerberos(client.KerberosOptions{SPN: "WSMAN/web1.corp.example.com"}),
	})
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = runHostname(c)
}

// NTLM with a local account of the server, over HTTPS (channel binding,
// no TrustedHosts needed).
func ExampleNTLM() {
	c, err := client.New(client.Config{
		Endpoint: "https://10.0.0.5:5986/wsman",
		Auth:     client.NTLM("Administrator", "secret"),
	})
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = runHostname(c)
}

// A client certificate mapped to an account by the server.
func ExampleCertificate() {
	cert, err := tls.LoadX509KeyPair("alice.pem", "alice.key")
	if err != nil {
		return
	}
	c, err := client.New(client.Config{
		Endpoint: "https://web1:5986/wsman",
		Auth:     client.Certificate(cert),
	})
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = runHostname(c)
}

func runHostname(c *client.Client) ([]byte, error) {
	ctx := context.Background()
	sh, err := c.CreateShell(ctx, client.ShellOptions{})
	if err != nil {
		return nil, err
	}
	defer sh.Close(ctx)
	return sh.Command("hostname").Output(ctx)
}
