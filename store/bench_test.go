package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// benchEvent is a typical routing event: a few fields of JSON.
var benchData = json.RawMessage(`{"queue":"paspoort","agent":"1001","position":3,"ewt_s":45,"skills":["nl","paspoort"]}`)

func benchWriter(b *testing.B, open func(testing.TB) database) {
	ctx := context.Background()
	s, err := open(b).open(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	w, err := NewWriter(ctx, s, WriterConfig{Buffer: b.N + 1}, nopLog())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if _, err := w.Append(Event{ContactID: "a1b2c3d4e5f60718", Kind: "routing.offer", Time: at(i), Data: benchData}); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	b.StopTimer()
	if err := w.Close(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWriterSQLite is the sustained write throughput of the Writer on
// SQLite (WAL, synchronous=FULL): append as fast as possible, then flush.
func BenchmarkWriterSQLite(b *testing.B) { benchWriter(b, sqliteDatabase) }

// BenchmarkWriterPostgres is the same on PostgreSQL (KCCTEST_POSTGRES_URL).
func BenchmarkWriterPostgres(b *testing.B) { benchWriter(b, postgresDatabase) }

// benchAck measures acknowledged writes: many goroutines (like many calls)
// each wait for their own event to be durable. Group commit shares one
// fsync among all waiting at the same time.
func benchAck(b *testing.B, open func(testing.TB) database) {
	ctx := context.Background()
	s, err := open(b).open(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	w, err := NewWriter(ctx, s, WriterConfig{MaxDelay: -1}, nopLog())
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(32) // 32 × GOMAXPROCS callers waiting
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := w.AppendWait(ctx, Event{ContactID: "c", Kind: "routing.offer", Time: t0, Data: benchData}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	b.StopTimer()
	if err := w.Close(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAckSQLite: acknowledged (AppendWait) throughput on SQLite.
func BenchmarkAckSQLite(b *testing.B) { benchAck(b, sqliteDatabase) }

// BenchmarkAckPostgres: acknowledged (AppendWait) throughput on PostgreSQL.
func BenchmarkAckPostgres(b *testing.B) { benchAck(b, postgresDatabase) }

// BenchmarkQueueLogAppendLine is the formatter on the hot path of a queue
// event.
func BenchmarkQueueLogAppendLine(b *testing.B) {
	e := Connect(t0, "1717397390.2398", "paspoort", "Piet Smit", 22, "1717397405.2410", 7)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = e.AppendLine(buf[:0])
	}
}

// BenchmarkParseQueueLogLine is the import path of `kcc import queue_log`.
func BenchmarkParseQueueLogLine(b *testing.B) {
	line := "1717397412|1717397390.2398|support|Piet Smit|CONNECT|22|1717397405.2410|7\n"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseQueueLogLine(line); err != nil {
			b.Fatal(err)
		}
	}
}
