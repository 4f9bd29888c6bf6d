package integration

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/bgkit/bgkit/bgkittest"
	"github.com/bgkit/bgkit/cli"
	"github.com/bgkit/bgkit/controller"
	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/spawn"
)

// DescribeGatewayArgs are the arguments of the describe-gateway kind.
type DescribeGatewayArgs struct {
	Address hexid.ID `json:"address" validate:"lte=0xFFFF" doc:"DoIP logical address."`
}

// DescribeGatewayService has a method whose Go name and wire name differ.
type DescribeGatewayService struct{ args DescribeGatewayArgs }

func NewDescribeGatewayService(a DescribeGatewayArgs) (*DescribeGatewayService, error) {
	return &DescribeGatewayService{args: a}, nil
}
func (s *DescribeGatewayService) Initialize(context.Context) error { return nil }
func (s *DescribeGatewayService) Shutdown(context.Context) error   { return nil }
func (s *DescribeGatewayService) DoIPAddress(context.Context) (hexid.ID, error) {
	return s.args.Address, nil
}
func (s *DescribeGatewayService) ReadDTCs(_ context.Context, f DescribeGatewayArgs) ([]hexid.ID, error) {
	return []hexid.ID{f.Address}, nil
}
func (s *DescribeGatewayService) EndpointNames() map[string]string {
	return map[string]string{"DoIPAddress": "doip_address"}
}
func (s *DescribeGatewayService) EndpointDocs() map[string]string {
	return map[string]string{"DoIPAddress": "The gateway's DoIP address.", "ReadDTCs": "Lists the stored DTCs."}
}

// DescribeClashService names two methods alike: it must not start.
type DescribeClashService struct{ DescribeGatewayService }

func NewDescribeClashService(DescribeGatewayArgs) (*DescribeClashService, error) {
	return &DescribeClashService{}, nil
}
func (s *DescribeClashService) EndpointNames() map[string]string {
	return map[string]string{"DoIPAddress": "read_dtcs"}
}

func init() {
	spawn.RegisterKind("describe-gateway", NewDescribeGatewayService)
	spawn.RegisterKind("describe-clash", NewDescribeClashService)
}

func TestDescribeNamesOverWire(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	h, err := spawn.RunKind(ctx, b, "describe-gateway", []byte(`{"address": "E00"}`), spawn.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Terminate(ctx) })
	c, err := controller.Connect(ctx, b, h.ServiceName())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var addr hexid.ID
	if err := c.Call(ctx, "doip_address", nil, &addr); err != nil || addr != 0xE00 {
		t.Fatalf("doip_address = %v, %v", addr, err)
	}
	var dtcs []hexid.ID
	if err := c.Call(ctx, "read_dtcs", map[string]any{"address": "0x10"}, &dtcs); err != nil || len(dtcs) != 1 || dtcs[0] != 0x10 {
		t.Fatalf("read_dtcs = %v, %v", dtcs, err)
	}
	// Errors in the caller's terms, from the child process.
	err = c.Call(ctx, "read_dtcs", map[string]any{"address": "0x10000"}, nil)
	var se *controller.ServiceError
	if !errors.As(err, &se) || se.Code != 400 || se.Message != "read_dtcs: address: must be at most 0xFFFF, got 0x10000" {
		t.Errorf("read_dtcs out of range: %v", err)
	}
	err = c.Call(ctx, "read_dtcs", map[string]any{"adress": 1}, nil)
	if !errors.As(err, &se) || se.Message != `read_dtcs: bad argument: unknown field "adress" (known: address)` {
		t.Errorf("read_dtcs unknown field: %v", err)
	}

	// bgkit describe, in-process, against the child.
	var out, errOut strings.Builder
	t.Setenv("NATS_URL", b.Credentials().ShareURL())
	if err := cli.Run(ctx, []string{"describe", h.ServiceName()}, &out, &errOut); err != nil {
		t.Fatalf("describe: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{
		"doip_address — The gateway's DoIP address.\n  input: none\n  output: integer or hex string\n",
		"read_dtcs — Lists the stored DTCs.\n  input: object\n    address  integer or hex string  must be at most 0xFFFF  DoIP logical address.\n  output: list of integer or hex string\n",
		`example: bgkit call DESCRIBE_GATEWAY_SERVICE read_dtcs '{"address":"0x7E8"}'`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("describe lacks %q:\n%s", want, out.String())
		}
	}
}

func TestDescribeNamesClashRefused(t *testing.T) {
	ctx := context.Background()
	b := bgkittest.Bus(t)
	h, err := spawn.RunKind(ctx, b, "describe-clash", nil, spawn.WithLogger(slog.New(slog.DiscardHandler)))
	if err == nil {
		h.Terminate(ctx)
		t.Fatal("a service with two methods named read_dtcs started")
	}
	for _, want := range []string{"DoIPAddress", "ReadDTCs", `"read_dtcs"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}
