package service_test

import (
	"context"
	"fmt"
	"reflect"

	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/service"
)

type ExampleArgs struct {
	IntervalMS int      `json:"interval_ms" validate:"gte=0,lte=60000" doc:"Period of the requests."`
	TxID       hexid.ID `json:"tx_id" validate:"lte=0x1FFFFFFF"`
	Step       int      `json:"step" validate:"required"`
}

func ExampleDecode() {
	for _, in := range []string{
		`{"interval_ms": "x"}`,
		`{"interval_ms": -5, "step": 1}`,
		`{"tx_id": "0x20000000", "step": 1}`,
		`{"interval_ms": 5}`,
		`{"intervl_ms": 5}`,
	} {
		var a ExampleArgs
		fmt.Println(service.Decode([]byte(in), &a))
	}
	var a ExampleArgs
	fmt.Println(service.Decode([]byte(`{"step": 1, "tx_id": "7E8"}`), &a), a.TxID)
	// Output:
	// interval_ms: must be a number, got string "x"
	// interval_ms: must be at least 0, got -5
	// tx_id: must be at most 0x1FFFFFFF, got 0x20000000
	// step: is required
	// unknown field "intervl_ms" (known: interval_ms, step, tx_id)
	// <nil> 0x7E8
}

func ExampleJSONSchema() {
	fmt.Println(string(service.JSONSchema(reflect.TypeFor[ExampleArgs]())))
	// Output:
	// {"$schema":"https://json-schema.org/draft/2020-12/schema","properties":{"interval_ms":{"type":"integer","maximum":60000,"minimum":0,"description":"Period of the requests.","x-rule":"must be from 0 to 60000"},"tx_id":{"oneOf":[{"type":"integer","maximum":536870911,"minimum":0},{"type":"string","pattern":"^(0[xX])?[0-9A-Fa-f]{1,8}$"}],"title":"integer or hex string","examples":["0x7E8"],"x-rule":"must be at most 0x1FFFFFFF"},"step":{"type":"integer","x-rule":"is required"}},"additionalProperties":false,"type":"object","required":["step"]}
}

type DiagService struct{}

func (DiagService) Initialize(context.Context) error { return nil }
func (DiagService) Shutdown(context.Context) error   { return nil }

func (DiagService) ReadDTCs(context.Context) ([]string, error)    { return nil, nil }
func (DiagService) DoIPAddress(context.Context) (hexid.ID, error) { return 0xE00, nil }
func (DiagService) EndpointNames() map[string]string {
	return map[string]string{"DoIPAddress": "doip_address"}
}
func (DiagService) EndpointDocs() map[string]string {
	return map[string]string{"ReadDTCs": "Lists the stored DTCs."}
}

func ExampleEndpointNamer() {
	eps, _ := service.Endpoints(DiagService{})
	for _, ep := range eps {
		fmt.Printf("%s %s %q\n", ep.Method, ep.Name, ep.Doc)
	}
	// Output:
	// DoIPAddress doip_address ""
	// ReadDTCs read_dtcs "Lists the stored DTCs."
}
