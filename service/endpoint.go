package service

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
)

// Service is what a service author implements. Its exported methods whose
// first parameter is a context.Context and whose last result is an error
// (other than Initialize and Shutdown) are its endpoints; see [Endpoints].
type Service interface {
	// Initialize runs before the service serves. Its ctx stays valid until
	// Shutdown has returned, so goroutines started here may use it.
	Initialize(ctx context.Context) error
	// Shutdown runs on SIGTERM/SIGINT or Terminate, after calls in flight
	// have finished; new calls are answered 503 meanwhile.
	Shutdown(ctx context.Context) error
}

// ErrBadEndpoint is wrapped by Endpoints for a method of a disallowed shape.
var ErrBadEndpoint = errors.New("bad endpoint")

// Endpoint is one exposed method.
type Endpoint struct {
	Name   string       // snake_case name, the last subject token
	Method string       // Go method name
	In     reflect.Type // input type, nil for none
	Out    reflect.Type // output type, nil for none; the item type of a stream
	// Stream marks a streaming endpoint: the method returns
	// (iter.Seq2[Out, error], error). See the package doc for the wire.
	Stream bool
	fn     reflect.Value
}

var (
	ctxType = reflect.TypeFor[context.Context]()
	errType = reflect.TypeFor[error]()
)

// Endpoints lists the exposed methods of svc, sorted by name. Allowed shapes:
//
//	(ctx) error, (ctx) (Out, error), (ctx, In) error, (ctx, In) (Out, error)
//
// A method whose Out is an iter.Seq2[Item, error] is a streaming endpoint:
// Stream is set and Out is Item.
//
// A method that takes a context first and returns an error last but has
// another shape is an error, so a typo does not silently hide an endpoint.
func Endpoints(svc any) ([]Endpoint, error) {
	v := reflect.ValueOf(svc)
	t := v.Type()
	var eps []Endpoint
	seen := map[string]string{}
	for i := 0; i < t.NumMethod(); i++ {
		m := t.Method(i)
		if m.Name == "Initialize" || m.Name == "Shutdown" {
			continue
		}
		mt := m.Type // receiver is In(0)
		if mt.NumIn() < 2 || mt.In(1) != ctxType || mt.NumOut() < 1 || mt.Out(mt.NumOut()-1) != errType {
			continue
		}
		ep := Endpoint{Name: MethodName(m.Name), Method: m.Name, fn: v.Method(i)}
		switch mt.NumIn() {
		case 2:
		case 3:
			ep.In = mt.In(2)
		default:
			return nil, fmt.Errorf("%w: %s.%s takes %d arguments after ctx (at most 1)", ErrBadEndpoint, t, m.Name, mt.NumIn()-2)
		}
		if mt.IsVariadic() {
			return nil, fmt.Errorf("%w: %s.%s is variadic", ErrBadEndpoint, t, m.Name)
		}
		switch mt.NumOut() {
		case 1:
		case 2:
			ep.Out = mt.Out(0)
			if item, ok := seq2Item(ep.Out); ok {
				ep.Out, ep.Stream = item, true
			}
		default:
			return nil, fmt.Errorf("%w: %s.%s returns %d results (at most 2)", ErrBadEndpoint, t, m.Name, mt.NumOut())
		}
		for _, typ := range []reflect.Type{ep.In, ep.Out} {
			if typ != nil && (typ.Kind() == reflect.Func || typ.Kind() == reflect.Chan) {
				return nil, fmt.Errorf("%w: %s.%s uses %s, which has no JSON form", ErrBadEndpoint, t, m.Name, typ)
			}
		}
		if other, dup := seen[ep.Name]; dup {
			return nil, fmt.Errorf("%w: %s.%s and %s both map to %q", ErrBadEndpoint, t, m.Name, other, ep.Name)
		}
		seen[ep.Name] = m.Name
		eps = append(eps, ep)
	}
	sort.Slice(eps, func(i, j int) bool { return eps[i].Name < eps[j].Name })
	return eps, nil
}

// seq2Item reports whether t is the type of an iter.Seq2[Item, error] (or
// the same func type unnamed) and returns Item.
func seq2Item(t reflect.Type) (reflect.Type, bool) {
	if t.Kind() != reflect.Func || t.NumIn() != 1 || t.NumOut() != 0 {
		return nil, false
	}
	y := t.In(0)
	if y.Kind() != reflect.Func || y.NumIn() != 2 || y.NumOut() != 1 ||
		y.In(1) != errType || y.Out(0).Kind() != reflect.Bool {
		return nil, false
	}
	return y.In(0), true
}
