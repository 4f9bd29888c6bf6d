package service

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

type shapes struct{}

func (shapes) Initialize(context.Context) error                { return nil }
func (shapes) Shutdown(context.Context) error                  { return nil }
func (shapes) NoIO(context.Context) error                      { return nil }
func (shapes) Out(context.Context) (int, error)                { return 0, nil }
func (shapes) In(context.Context, string) error                { return nil }
func (shapes) InOut(context.Context, []int) (string, error)    { return "", nil }
func (shapes) NotExposed(int) error                            { return nil }
func (shapes) NoError(context.Context) int                     { return 0 }
func (shapes) unexported(context.Context) error                { return nil }
func (shapes) StructIn(context.Context, struct{ A int }) error { return nil }

type twoArgs struct{ shapes }

func (twoArgs) Two(context.Context, int, int) error { return nil }

type threeResults struct{ shapes }

func (threeResults) Three(context.Context) (int, int, error) { return 0, 0, nil }

type chanIn struct{ shapes }

func (chanIn) Feed(context.Context, chan int) error { return nil }

func TestEndpoints(t *testing.T) {
	eps, err := Endpoints(shapes{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]reflect.Type{}
	for _, ep := range eps {
		got[ep.Name] = [2]reflect.Type{ep.In, ep.Out}
	}
	want := map[string][2]reflect.Type{
		"no_io":     {nil, nil},
		"out":       {nil, reflect.TypeFor[int]()},
		"in":        {reflect.TypeFor[string](), nil},
		"in_out":    {reflect.TypeFor[[]int](), reflect.TypeFor[string]()},
		"struct_in": {reflect.TypeFor[struct{ A int }](), nil},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("endpoints = %v, want %v", got, want)
	}
	if eps[0].Name > eps[len(eps)-1].Name {
		t.Error("endpoints not sorted")
	}
}

func TestEndpointsBadShapes(t *testing.T) {
	for _, tc := range []struct {
		name string
		svc  any
	}{
		{"two args", twoArgs{}},
		{"three results", threeResults{}},
		{"channel input", chanIn{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Endpoints(tc.svc); !errors.Is(err, ErrBadEndpoint) {
				t.Fatalf("err = %v, want ErrBadEndpoint", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	type args struct {
		Step  int    `json:"step" validate:"required,min=1"`
		Name  string `json:"name" validate:"omitempty,alphanum"`
		Inner struct {
			Port int `json:"port" validate:"lte=65535"`
		} `json:"inner"`
	}
	var a args
	a.Name = "a-b"
	a.Inner.Port = 70000
	err := Validate(&a)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	got := map[string]string{}
	for _, f := range ve.Fields {
		got[f.Field] = f.Rule
	}
	want := map[string]string{"step": "required", "name": "alphanum", "inner.port": "lte"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fields = %v, want %v", got, want)
	}
	if err := Validate(42); err != nil {
		t.Errorf("Validate(int) = %v", err)
	}
	a = args{Step: 1}
	if err := Validate(a); err != nil {
		t.Errorf("valid args: %v", err)
	}
}
