package service

import (
	"context"
	"errors"
	"strings"
	"testing"
)

type namedSvc struct {
	shapes
	names map[string]string
	docs  map[string]string
}

func (namedSvc) DoIPAddress(context.Context) (string, error) { return "", nil }
func (namedSvc) ReadDTCs(context.Context) ([]int, error)     { return nil, nil }
func (s namedSvc) EndpointNames() map[string]string          { return s.names }
func (s namedSvc) EndpointDocs() map[string]string           { return s.docs }

func TestEndpointNames(t *testing.T) {
	eps, err := Endpoints(namedSvc{
		names: map[string]string{"DoIPAddress": "doip_address"},
		docs:  map[string]string{"ReadDTCs": "Reads the stored DTCs."},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, ep := range eps {
		got[ep.Name] = ep.Doc
	}
	for _, want := range []string{"doip_address", "read_dtcs", "no_io"} {
		if _, ok := got[want]; !ok {
			t.Errorf("no endpoint %q in %v", want, got)
		}
	}
	for _, not := range []string{"do_ip_address", "endpoint_names", "endpoint_docs"} {
		if _, ok := got[not]; ok {
			t.Errorf("endpoint %q should not exist", not)
		}
	}
	if got["read_dtcs"] != "Reads the stored DTCs." {
		t.Errorf("doc of read_dtcs = %q", got["read_dtcs"])
	}
}

func TestEndpointNamesRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		svc   namedSvc
		wants []string
	}{
		{"clash", namedSvc{names: map[string]string{"DoIPAddress": "read_dtcs"}}, []string{"DoIPAddress", "ReadDTCs", `"read_dtcs"`}},
		{"clash with default", namedSvc{names: map[string]string{"ReadDTCs": "no_io"}}, []string{"NoIO", "ReadDTCs", `"no_io"`}},
		{"unknown method", namedSvc{names: map[string]string{"DoipAddress": "doip_address"}}, []string{"EndpointNames", "DoipAddress", "not an exposed method"}},
		{"not a token", namedSvc{names: map[string]string{"DoIPAddress": "doip.address"}}, []string{"DoIPAddress", `"doip.address"`, "subject token"}},
		{"empty", namedSvc{names: map[string]string{"DoIPAddress": ""}}, []string{"DoIPAddress", "subject token"}},
		{"doc for no method", namedSvc{docs: map[string]string{"Nope": "x"}}, []string{"EndpointDocs", "Nope"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Endpoints(tc.svc)
			if !errors.Is(err, ErrBadEndpoint) {
				t.Fatalf("err = %v, want ErrBadEndpoint", err)
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
}
