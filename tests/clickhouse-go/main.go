// Command clickhouse-go-check talks to ClickHouse over HTTP through
// clickhouse-go, the driver of Grafana's ClickHouse data source and of the
// OpenTelemetry Collector's ClickHouse exporter, as they do: the hello query
// and a ping on connecting, a batch insert in Native format, and a query
// whose Native result it decodes.
//
// It inserts the rows given on stdin (JSON, one per line) into -table, then
// prints every row of -table, ordered by id, as JSON lines on stdout; the
// server's name, version and revision go to stderr. Any error ends it with
// exit status 1.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Row is one row of the table the test creates; time is DateTime64(9),
// here in nanoseconds since the epoch.
type Row struct {
	ID           uint64            `json:"id"`
	Service      string            `json:"service"`
	Tags         []string          `json:"tags"`
	Attrs        map[string]string `json:"attrs"`
	TimeUnixNano int64             `json:"time_unix_nano"`
	Values       []float64         `json:"values"`
	Note         *string           `json:"note"`
}

const columns = "id, service, tags, attrs, time, values, note"

func main() {
	addr := flag.String("addr", "127.0.0.1:8123", "ClickHouse HTTP address (host:port)")
	database := flag.String("database", "default", "database")
	table := flag.String("table", "", "table to insert into and read from")
	flag.Parse()
	if err := run(*addr, *database, *table); err != nil {
		fmt.Fprintln(os.Stderr, "clickhouse-go-check:", err)
		os.Exit(1)
	}
}

func run(addr, database, table string) error {
	if table == "" {
		return fmt.Errorf("-table is required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:     []string{addr},
		Protocol: clickhouse.HTTP,
		Auth:     clickhouse.Auth{Database: database},
	})
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer conn.Close()
	if err := conn.Ping(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	server, err := conn.ServerVersion()
	if err != nil {
		return fmt.Errorf("server version: %w", err)
	}
	fmt.Fprintf(os.Stderr, "server %s %s revision %d\n", server.DisplayName, server.Version, server.Revision)

	batch, err := conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s (%s)", table, columns))
	if err != nil {
		return fmt.Errorf("prepare batch: %w", err)
	}
	input := json.NewDecoder(os.Stdin)
	for input.More() {
		var r Row
		if err := input.Decode(&r); err != nil {
			return fmt.Errorf("stdin: %w", err)
		}
		at := time.Unix(0, r.TimeUnixNano).UTC()
		if err := batch.Append(r.ID, r.Service, r.Tags, r.Attrs, at, r.Values, r.Note); err != nil {
			return fmt.Errorf("append: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert: %w", err)
	}

	rows, err := conn.Query(ctx, fmt.Sprintf("SELECT %s FROM %s ORDER BY id", columns, table))
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	output := json.NewEncoder(os.Stdout)
	for rows.Next() {
		var (
			r  Row
			at time.Time
		)
		if err := rows.Scan(&r.ID, &r.Service, &r.Tags, &r.Attrs, &at, &r.Values, &r.Note); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		r.TimeUnixNano = at.UnixNano()
		if err := output.Encode(r); err != nil {
			return err
		}
	}
	return rows.Err()
}
