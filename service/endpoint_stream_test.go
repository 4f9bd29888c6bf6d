package service_test

import (
	"context"
	"errors"
	"iter"
	"testing"

	"github.com/bgkit/bgkit/service"
)

type streamShapes struct{}

func (streamShapes) Initialize(context.Context) error { return nil }
func (streamShapes) Shutdown(context.Context) error   { return nil }
func (streamShapes) Ticks(context.Context) (iter.Seq2[int, error], error) {
	return nil, nil
}
func (streamShapes) Tail(context.Context, string) (func(func(string, error) bool), error) {
	return nil, nil
}
func (streamShapes) Bad(context.Context) (iter.Seq2[chan int, error], error) { return nil, nil }

func TestEndpointsStreamShapes(t *testing.T) {
	_, err := service.Endpoints(streamShapes{})
	if !errors.Is(err, service.ErrBadEndpoint) {
		t.Fatalf("a stream of channels: %v, want ErrBadEndpoint", err)
	}
	eps, err := service.Endpoints(struct{ okStreams }{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range eps {
		if !ep.Stream {
			t.Errorf("%s: not a stream", ep.Name)
		}
	}
	if len(eps) != 2 || eps[0].Out.String() != "string" || eps[1].Out.String() != "int" {
		t.Fatalf("endpoints %+v", eps)
	}
}

type okStreams struct{}

func (okStreams) Initialize(context.Context) error { return nil }
func (okStreams) Shutdown(context.Context) error   { return nil }
func (okStreams) Ticks(context.Context) (iter.Seq2[int, error], error) {
	return nil, nil
}
func (okStreams) Tail(context.Context, string) (func(func(string, error) bool), error) {
	return nil, nil
}
