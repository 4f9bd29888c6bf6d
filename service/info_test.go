package service_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/micro"

	"github.com/bgkit/bgkit/bus"
	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/service"
)

type infoDID struct {
	DID   hexid.ID `json:"did" validate:"required" doc:"Data identifier."`
	Value string   `json:"value,omitempty" doc:"Value in hex."`
}

type infoService struct{}

func (infoService) Initialize(context.Context) error { return nil }
func (infoService) Shutdown(context.Context) error   { return nil }
func (infoService) GetDID(_ context.Context, in infoDID) (infoDID, error) {
	return in, nil
}
func (infoService) DoIPAddress(context.Context) (hexid.ID, error) { return 0xE00, nil }
func (infoService) Reset(context.Context) error                   { return nil }
func (infoService) EndpointNames() map[string]string {
	return map[string]string{"DoIPAddress": "doip_address"}
}
func (infoService) EndpointDocs() map[string]string {
	return map[string]string{"GetDID": "Reads one DID.", "DoIPAddress": "The DoIP logical address."}
}

func TestInfoSchemas(t *testing.T) {
	b, stop := serve(t, infoService{}, service.WithName("INFO_TEST"))
	defer stop()
	m, err := b.Conn().Request("$SRV.INFO.INFO_TEST", nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var info micro.Info
	if err := json.Unmarshal(m.Data, &info); err != nil {
		t.Fatal(err)
	}
	eps := map[string]map[string]string{}
	for _, ep := range info.Endpoints {
		eps[ep.Name] = ep.Metadata
	}
	if len(eps) != 3 || eps["doip_address"] == nil || eps["get_did"] == nil || eps["reset"] == nil {
		t.Fatalf("endpoints = %v", eps)
	}
	get := eps["get_did"]
	if get[service.MetadataDoc] != "Reads one DID." {
		t.Errorf("doc = %q", get[service.MetadataDoc])
	}
	for _, key := range []string{service.MetadataInSchema, service.MetadataOutSchema} {
		var s struct {
			Type       string                     `json:"type"`
			Required   []string                   `json:"required"`
			Properties map[string]json.RawMessage `json:"properties"`
		}
		if err := json.Unmarshal([]byte(get[key]), &s); err != nil {
			t.Fatalf("%s = %q: %v", key, get[key], err)
		}
		if s.Type != "object" || s.Properties["did"] == nil || s.Properties["value"] == nil {
			t.Errorf("%s = %s", key, get[key])
		}
	}
	if _, ok := eps["reset"][service.MetadataInSchema]; ok {
		t.Errorf("reset has an in_schema: %v", eps["reset"])
	}
	if _, ok := get["in"]; ok {
		t.Error("old Go type metadata still there")
	}
	var addr struct {
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(eps["doip_address"][service.MetadataOutSchema]), &addr); err != nil || addr.Title != hexid.SchemaTitle {
		t.Errorf("doip_address out_schema = %s (%v)", eps["doip_address"][service.MetadataOutSchema], err)
	}
}

// BenchmarkInfo: $SRV.INFO with schemas costs a request, not a reflection
// (the metadata is made once per endpoint).
func BenchmarkInfo(b *testing.B) {
	bb, err := bus.Start(context.Background(), bus.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	defer bb.Close()
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- service.Run(ctx, bb, infoService{}, service.WithName("INFO_BENCH"),
			service.WithLogger(slog.New(slog.DiscardHandler)), service.WithOnReady(func(service.Info) { close(ready) }))
	}()
	defer func() { cancel(); <-done }()
	select {
	case <-ready:
	case err := <-done:
		b.Fatal(err)
	}
	nc := bb.Conn()
	for b.Loop() {
		if _, err := nc.Request("$SRV.INFO.INFO_BENCH", nil, 5*time.Second); err != nil {
			b.Fatal(err)
		}
	}
}
