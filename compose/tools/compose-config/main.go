// Command compose-config loads Compose files the way `docker compose config` does (the Compose
// Specification's own Go loader: schema validation, interpolation, extends, !reset, env files) and
// prints the resolved project as JSON. It needs no Docker engine, so the tests can check the stack
// on machines that have none.
//
//	(cd compose/tools/compose-config && go run . "$OLDPWD/compose/docker-compose.yml" \
//	  "$OLDPWD/compose/docker-compose.canary.yml")
//
// Variables come from the environment and from a .env file beside the first Compose file (as
// `docker compose` reads it), unless COMPOSE_CONFIG_IGNORE_DOTENV is set (the tests load the files
// without a developer's .env).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-config FILE [FILE...]")
		os.Exit(64)
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "compose-config:", err)
		os.Exit(1)
	}
}

func run(files []string) error {
	options := []cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(filepath.Dir(files[0])),
		cli.WithOsEnv,
		cli.WithName("traefik-canary"),
	}
	if os.Getenv("COMPOSE_CONFIG_IGNORE_DOTENV") == "" {
		// The default .env in the working directory (the first file's folder), then its variables.
		options = append(options, cli.WithEnvFiles(), cli.WithDotEnv)
	}
	opts, err := cli.NewProjectOptions(files, options...)
	if err != nil {
		return fmt.Errorf("reading options for %v: %w", files, err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		return fmt.Errorf("loading %v: %w", files, err)
	}
	out, err := json.MarshalIndent(project, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the project: %w", err)
	}
	_, err = fmt.Println(string(out))
	return err
}
