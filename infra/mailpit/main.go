// Command mailpit runs Mailpit (an SMTP server that keeps what it receives, with an HTTP API to
// read it) from its upstream module: the local mail server of the SMTP output binding `mail`.
// Built without its web UI (built with npm upstream, not part of the module); SMTP and the API work.
package main

import "github.com/axllent/mailpit/cmd"

func main() {
	cmd.Execute()
}
