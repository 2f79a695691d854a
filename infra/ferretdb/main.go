// Command ferretdb runs FerretDB (MongoDB wire protocol on SQLite) embedded,
// because upstream cmd/ferretdb panics when built with `go install` (no version.txt).
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
	flag.Parse()
	if *dataDir == "" {
		slog.Error("--sqlite-dir is required")
		os.Exit(2)
	}
	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		slog.Error("cannot create data dir", "err", err)
		os.Exit(1)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	server, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + *dataDir + "/",
	})
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
