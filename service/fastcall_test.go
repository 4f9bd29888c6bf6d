package service

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

type fastShapesService struct{}

func (fastShapesService) Initialize(context.Context) error { return nil }
func (fastShapesService) Shutdown(context.Context) error   { return nil }
func (fastShapesService) IntInt(_ context.Context, n int) (int, error) {
	if n == 13 {
		return 0, Errorf(418, "unlucky %d", n)
	}
	if n == 666 {
		panic("beast")
	}
	return n * 2, nil
}
func (fastShapesService) StrStr(_ context.Context, s string) (string, error) {
	return strings.ToUpper(s), nil
}
func (fastShapesService) BoolInt(_ context.Context, b bool) (int, error) {
	if b {
		return 1, nil
	}
	return 0, errors.New("false")
}
func (fastShapesService) IntOnly(_ context.Context, n int) error {
	if n < 0 {
		return errors.New("negative")
	}
	return nil
}
func (fastShapesService) OutStr(context.Context) (string, error) { return "<tag>", nil }
func (fastShapesService) NoneErr(context.Context) error          { return Errorf(409, "busy") }

// The fast path answers exactly what the reflection path answers.
func TestFastCallLikeReflection(t *testing.T) {
	eps, err := Endpoints(fastShapesService{})
	if err != nil {
		t.Fatal(err)
	}
	o := options{name: "FAST", logger: slog.New(slog.DiscardHandler)}
	s := newServer(nil, o, eps, context.Background())
	inputs := []string{"", "1", "13", "666", "-5", "1.5", `"abc"`, `"a\u00e9"`, "true", "false", "null", "{}", `""`, "[1]", " 7 "}
	for _, ep := range s.eps {
		if ep.fast == nil {
			t.Errorf("%s has no fast path", ep.Name)
			continue
		}
		for _, in := range inputs {
			for _, hdr := range []nats.Header{nil, {TimeoutHeader: {"5000"}}} {
				m := &nats.Msg{Subject: "svc.FAST." + ep.Name, Data: []byte(in), Header: hdr}
				fast := ep.fast
				out1, code1, msg1 := s.call(ep, m)
				ep.fast = nil
				out2, code2, msg2 := s.call(ep, m)
				ep.fast = fast
				if string(out1) != string(out2) || code1 != code2 || msg1 != msg2 {
					t.Errorf("%s(%q): fast %q %d %q; reflection %q %d %q", ep.Name, in, out1, code1, msg1, out2, code2, msg2)
				}
			}
		}
	}
}
