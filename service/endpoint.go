package service

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/bgkit/bgkit/bus"
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

// EndpointNamer is implemented by a service that chooses the endpoint
// names of some of its methods: EndpointNames maps a Go method name to its
// endpoint name, e.g. {"DoIPAddress": "doip_address"}. Methods it does not
// name get [MethodName]. EndpointNames itself is not an endpoint.
type EndpointNamer interface {
	EndpointNames() map[string]string
}

// EndpointDocumenter is implemented by a service that documents its
// methods: EndpointDocs maps a Go method name to a one-line doc, shown by
// $SRV.INFO (endpoint metadata "doc"), `bgkit describe` and `bgkit kinds`.
// EndpointDocs itself is not an endpoint.
type EndpointDocumenter interface {
	EndpointDocs() map[string]string
}

// Endpoint is one exposed method.
type Endpoint struct {
	Name   string       // snake_case name, the last subject token
	Method string       // Go method name
	Doc    string       // one-line doc from EndpointDocs, "" for none
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
// So are an EndpointNames entry that names no endpoint or gives a name that
// is not a subject token, and two methods with the same endpoint name (see
// [EndpointNamer]); an EndpointDocs entry that names no endpoint is an
// error too.
func Endpoints(svc any) ([]Endpoint, error) {
	v := reflect.ValueOf(svc)
	t := v.Type()
	var names, docs map[string]string
	if n, ok := svc.(EndpointNamer); ok {
		names = n.EndpointNames()
	}
	if d, ok := svc.(EndpointDocumenter); ok {
		docs = d.EndpointDocs()
	}
	var eps []Endpoint
	seen := map[string]string{}
	for i := 0; i < t.NumMethod(); i++ {
		m := t.Method(i)
		switch m.Name {
		case "Initialize", "Shutdown", "EndpointNames", "EndpointDocs":
			continue
		}
		mt := m.Type // receiver is In(0)
		if mt.NumIn() < 2 || mt.In(1) != ctxType || mt.NumOut() < 1 || mt.Out(mt.NumOut()-1) != errType {
			continue
		}
		ep := Endpoint{Name: MethodName(m.Name), Method: m.Name, Doc: docs[m.Name], fn: v.Method(i)}
		if name, ok := names[m.Name]; ok {
			if err := bus.ValidateTopic(name); err != nil {
				return nil, fmt.Errorf("%w: %s.EndpointNames[%q]: %q is not a subject token (letters, digits, _ and -, at most 64)", ErrBadEndpoint, t, m.Name, name)
			}
			ep.Name = name
		}
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
			return nil, fmt.Errorf("%w: %s: methods %s and %s both have the endpoint name %q (give one another name with EndpointNames)", ErrBadEndpoint, t, other, m.Name, ep.Name)
		}
		seen[ep.Name] = m.Name
		eps = append(eps, ep)
	}
	for _, table := range []struct {
		method string
		m      map[string]string
	}{{"EndpointNames", names}, {"EndpointDocs", docs}} {
		var stray []string
		for goName := range table.m {
			if !hasEndpoint(eps, goName) {
				stray = append(stray, goName)
			}
		}
		if len(stray) > 0 {
			sort.Strings(stray)
			return nil, fmt.Errorf("%w: %s.%s names %s, which %s not an exposed method", ErrBadEndpoint, t, table.method,
				strings.Join(stray, ", "), map[bool]string{true: "is", false: "are"}[len(stray) == 1])
		}
	}
	sort.Slice(eps, func(i, j int) bool { return eps[i].Name < eps[j].Name })
	return eps, nil
}

func hasEndpoint(eps []Endpoint, method string) bool {
	for _, ep := range eps {
		if ep.Method == method {
			return true
		}
	}
	return false
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
