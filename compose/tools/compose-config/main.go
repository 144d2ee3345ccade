// Command compose-config loads Compose files the way `docker compose config` does (the Compose
// Specification's own Go loader: schema validation, interpolation, extends, !reset, env files) and
// prints the resolved project as JSON. It needs no Docker engine, so the tests can check the stack
// on machines that have none.
//
//	go run ./compose/tools/compose-config compose/docker-compose.yml compose/docker-compose.canary.yml
//
// Variables come from the environment and from a .env file beside the first Compose file, unless
// COMPOSE_CONFIG_IGNORE_DOTENV is set (the tests load the files without a developer's .env).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

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
	options := []cli.ProjectOptionsFn{cli.WithOsEnv, cli.WithName("traefik-canary")}
	if os.Getenv("COMPOSE_CONFIG_IGNORE_DOTENV") == "" {
		options = append(options, cli.WithDotEnv)
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
