package service

import (
	"context"
	"log/slog"
	"testing"

	"github.com/nats-io/nats.go"
)

type callPathService struct{}

func (callPathService) Initialize(context.Context) error { return nil }
func (callPathService) Shutdown(context.Context) error   { return nil }
func (callPathService) Add(_ context.Context, n int) (int, error) {
	return n + 1, nil
}

// BenchmarkCallPath measures the child's work for one call between the
// message and the reply bytes (decode, method, encode), without NATS.
func BenchmarkCallPath(b *testing.B) {
	eps, err := Endpoints(callPathService{})
	if err != nil {
		b.Fatal(err)
	}
	o := options{name: "CALLPATH", logger: slog.New(slog.DiscardHandler)}
	s := newServer(nil, o, eps, context.Background())
	ep := s.eps["add"]
	for _, tt := range []struct {
		name string
		hdr  nats.Header
	}{
		{"no-deadline", nil},
		{"deadline", nats.Header{TimeoutHeader: {"9999"}}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			m := &nats.Msg{Subject: "svc.CALLPATH.add", Data: []byte("41"), Header: tt.hdr}
			b.ReportAllocs()
			for b.Loop() {
				out, code, msg := s.call(ep, m)
				if code != 0 || string(out) != "42" {
					b.Fatalf("call = %q, %d, %s", out, code, msg)
				}
			}
		})
	}
}
