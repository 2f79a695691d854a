// Command ferretdb runs FerretDB (MongoDB wire protocol on SQLite or PostgreSQL) embedded,
// because upstream cmd/ferretdb panics when built with `go install` (no version.txt).
// On PostgreSQL a client signs in (PLAIN) as a PostgreSQL role: its GRANTs are what it may do.
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	dataDir := flag.String("sqlite-dir", "", "directory holding the SQLite databases")
	postgresURL := flag.String("postgresql-url", "", "PostgreSQL database to serve instead (no credentials: each client's own are used)")
	flag.Parse()
	config := ferretdb.Config{Listener: ferretdb.ListenerConfig{TCP: *listen}}
	switch {
	case (*dataDir == "") == (*postgresURL == ""):
		slog.Error("exactly one of --sqlite-dir and --postgresql-url is required")
		os.Exit(2)
	case *postgresURL != "":
		config.Handler, config.PostgreSQLURL = "postgresql", *postgresURL
	default:
		if err := os.MkdirAll(*dataDir, 0o700); err != nil {
			slog.Error("cannot create data dir", "err", err)
			os.Exit(1)
		}
		config.Handler, config.SQLiteURL = "sqlite", "file:"+*dataDir+"/"
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	config.Logger = logger
	server, err := ferretdb.New(&config)
	if err != nil {
		slog.Error("cannot start FerretDB", "err", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	slog.Info("FerretDB listening", "addr", *listen, "uri", server.MongoDBURI())
	if err := server.Run(ctx); err != nil {
		slog.Error("FerretDB stopped", "err", err)
		os.Exit(1)
	}
}
