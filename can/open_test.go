package can

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		name    string
		spec    string
		want    Spec
		wantErr string
	}{
		{name: "virtual", spec: "virtual:bus0", want: Spec{Kind: KindVirtual, Name: "bus0"}},
		{name: "socketcan", spec: "socketcan:can0", want: Spec{Kind: KindSocketCAN, Name: "can0"}},
		{name: "socketcan vcan", spec: "socketcan:vcan10", want: Spec{Kind: KindSocketCAN, Name: "vcan10"}},
		{name: "empty", spec: "", wantErr: "empty"},
		{name: "no colon", spec: "bus0", wantErr: "missing ':'"},
		{name: "no name", spec: "virtual:", wantErr: "missing name"},
		{name: "unknown kind", spec: "serial:ttyS0", wantErr: `unknown kind "serial"`},
		{name: "no kind", spec: ":bus0", wantErr: `unknown kind ""`},
		{name: "kind is case sensitive", spec: "Virtual:bus0", wantErr: "unknown kind"},
		{name: "virtual dot", spec: "virtual:a.b", wantErr: "not allowed in a NATS subject token"},
		{name: "virtual wildcard", spec: "virtual:>", wantErr: "not allowed"},
		{name: "virtual space", spec: "virtual:bus 0", wantErr: "not allowed"},
		{name: "virtual colon in name", spec: "virtual:a:b", want: Spec{Kind: KindVirtual, Name: "a:b"}},
		{name: "socketcan too long", spec: "socketcan:abcdefghijklmnop", wantErr: "longer than 15"},
		{name: "socketcan slash", spec: "socketcan:a/b", wantErr: "not allowed"},
		{name: "socketcan colon", spec: "socketcan:a:b", wantErr: "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSpec(tt.spec)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSpec(%q) error = %v, want ErrInvalidSpec containing %q", tt.spec, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSpec(%q): %v", tt.spec, err)
			}
			if got != tt.want {
				t.Errorf("ParseSpec(%q) = %+v, want %+v", tt.spec, got, tt.want)
			}
			if got.String() != tt.spec {
				t.Errorf("String() = %q, want %q", got.String(), tt.spec)
			}
		})
	}
}

func TestOpenVirtual(t *testing.T) {
	s := startNATS(t)
	nc := connect(t, s)
	ctx := context.Background()
	a, err := Open(ctx, "virtual:bus0", WithNATS(nc))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, "virtual:bus0", WithNATS(connect(t, s)), WithFilters(Filter{ID: 0x7E8, Mask: 0x7FF}))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, ok := a.(*Virtual); !ok {
		t.Errorf("Open returned %T, want *Virtual", a)
	}
	send(t, a, frame(0x7E0, 1)) // filtered out
	send(t, a, frame(0x7E8, 2))
	if r := recv(t, b); r.Frame != frame(0x7E8, 2) {
		t.Errorf("received %v", r.Frame)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	s := startNATS(t)
	nc := connect(t, s)
	tests := []struct {
		name string
		ctx  context.Context
		spec string
		opts []Option
		want error
	}{
		{"bad spec", ctx, "virtual", nil, ErrInvalidSpec},
		{"no nats", ctx, "virtual:bus0", nil, ErrNATSRequired},
		{"canceled", canceled, "virtual:bus0", []Option{WithNATS(nc)}, context.Canceled},
		{"bad socketcan name", ctx, "socketcan:a b", nil, ErrInvalidSpec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Open(tt.ctx, tt.spec, tt.opts...)
			if !errors.Is(err, tt.want) {
				t.Errorf("Open(%q) error = %v, want %v", tt.spec, err, tt.want)
			}
			if b != nil {
				b.Close()
				t.Errorf("Open(%q) returned a bus with an error", tt.spec)
			}
		})
	}
	if b, err := Open(ctx, "socketcan:nosuchcan7"); err == nil || b != nil {
		t.Errorf("Open(socketcan:nosuchcan7) = %v, %v; want an error", b, err)
	}
}
