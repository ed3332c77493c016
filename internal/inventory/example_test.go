package inventory_test

import (
	"fmt"
	"strings"

	"github.com/psremote/psremote/internal/inventory"
)

func ExampleInventory_Select() {
	inv, err := inventory.ParseINI(strings.NewReader(`
[web]
web[01:03].example.com

[db]
db1 ansible_host=192.0.2.10 ansible_port=5985

[prod:children]
web
db

[prod:vars]
ansible_winrm_transport=ntlm
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	hosts, err := inv.Select("prod:!web02*")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, h := range hosts {
		c := h.Connection()
		fmt.Println(h.Name, h.Address, h.Port, c.Scheme, c.Transports)
	}
	// Output:
	// web01.example.com web01.example.com 0  [ntlm]
	// web03.example.com web03.example.com 0  [ntlm]
	// db1 192.0.2.10 5985 http [ntlm]
}
