// compose-check loads a Compose file exactly as Docker Compose v2 does (compose-spec/compose-go,
// the loader Docker Compose itself uses): schema validation, interpolation of ${VAR} from the
// env files and the environment, required variables (${VAR:?message}), normalisation and the
// consistency checks (depends_on targets, network_mode "service:x", volumes, configs). No
// Docker engine needed.
//
//	compose-check [--env-file FILE]... [--project-directory DIR] [--no-os-env] compose.yml...
//
// Exits 1 with the loader's error, or prints the resolved project as JSON on stdout (what
// `docker compose config --format json` would print).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var envFiles list
	flag.Var(&envFiles, "env-file", "env file used for interpolation (repeatable; default: <project dir>/.env)")
	projectDir := flag.String("project-directory", "", "project directory (default: the first compose file's folder)")
	noOsEnv := flag.Bool("no-os-env", false, "do not read interpolation variables from the process environment")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: compose-check [--env-file FILE]... [--project-directory DIR] [--no-os-env] compose.yml...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	files := flag.Args()
	dir := *projectDir
	if dir == "" {
		dir = filepath.Dir(files[0])
	}

	// Same order as `docker compose`: OS environment first (it wins), then the env files.
	opts := []cli.ProjectOptionsFn{cli.WithWorkingDirectory(dir)}
	if !*noOsEnv {
		opts = append(opts, cli.WithOsEnv)
	}
	opts = append(opts,
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	options, err := cli.NewProjectOptions(files, opts...)
	if err == nil {
		project, loadErr := options.LoadProject(context.Background())
		if err = loadErr; err == nil {
			var out []byte
			if out, err = project.MarshalJSON(); err == nil {
				_, _ = os.Stdout.Write(append(out, '\n'))
				return
			}
		}
	}
	fmt.Fprintln(os.Stderr, "compose-check:", err)
	os.Exit(1)
}
