// actionlint, the GitHub Actions workflow checker, built from its Go module so
// `npm test` can lint .github/workflows offline (see infra/infra.sh tools).
package main

import (
	"os"

	"github.com/rhysd/actionlint"
)

func main() {
	cmd := actionlint.Command{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	os.Exit(cmd.Main(os.Args))
}
