package spawn

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"sync"

	"github.com/bgkit/bgkit/service"
)

// entry is a registered service constructor.
type entry struct {
	key      string       // package path and type name of the service
	typ      reflect.Type // the service type
	argsType reflect.Type
	// construct decodes args (strictly), validates them and calls the constructor.
	construct func(args []byte) (service.Service, error)
	// check decodes and validates args without constructing.
	check func(args []byte) error
}

var registry = struct {
	sync.RWMutex
	byKey  map[string]*entry
	byKind map[string]*entry
}{byKey: map[string]*entry{}, byKind: map[string]*entry{}}

// Register makes a service constructor spawnable. Call it in main or
// TestMain before Main, in every binary that spawns the service (the child
// is the same binary, re-executed). Registering the same type twice panics.
func Register[A any, S service.Service](ctor func(A) (S, error)) {
	register(newEntry(ctor), "")
}

// RegisterKind registers ctor like Register and also under kind, a name
// for the command line and rig files (e.g. "tester-present").
func RegisterKind[A any, S service.Service](kind string, ctor func(A) (S, error)) {
	register(newEntry(ctor), kind)
}

func register(e *entry, kind string) {
	registry.Lock()
	defer registry.Unlock()
	if old, ok := registry.byKey[e.key]; ok && kind == "" {
		panic(fmt.Sprintf("spawn: %s registered twice", old.key))
	}
	registry.byKey[e.key] = e
	if kind != "" {
		if _, ok := registry.byKind[kind]; ok {
			panic(fmt.Sprintf("spawn: kind %q registered twice", kind))
		}
		registry.byKind[kind] = e
	}
}

// Kinds lists the kinds registered with RegisterKind, sorted.
func Kinds() []string {
	registry.RLock()
	defer registry.RUnlock()
	kinds := make([]string, 0, len(registry.byKind))
	for k := range registry.byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

// KindArgs returns a pointer to a zero args value of kind, for tools that
// describe or pre-validate rig files.
func KindArgs(kind string) (any, bool) {
	e, ok := lookupKind(kind)
	if !ok {
		return nil, false
	}
	return reflect.New(e.argsType).Interface(), true
}

// KindTypes returns the argument type and the service type (as the
// constructor returns it, e.g. *ecusim.ECUSimService) of kind, for tools
// that describe kinds without running them.
func KindTypes(kind string) (args, svc reflect.Type, ok bool) {
	e, ok := lookupKind(kind)
	if !ok {
		return nil, nil, false
	}
	return e.argsType, e.typ, true
}

// KindServiceName is the default service name of kind.
func KindServiceName(kind string) (string, bool) {
	e, ok := lookupKind(kind)
	if !ok {
		return "", false
	}
	return service.DeriveName(e.typ.String()), true
}

func lookupKind(kind string) (*entry, bool) {
	registry.RLock()
	defer registry.RUnlock()
	e, ok := registry.byKind[kind]
	return e, ok
}

func lookupKey(key string) (*entry, bool) {
	registry.RLock()
	defer registry.RUnlock()
	e, ok := registry.byKey[key]
	return e, ok
}

func typeKey(t reflect.Type) string {
	base := t
	for base.Kind() == reflect.Pointer {
		base = base.Elem()
	}
	return base.PkgPath() + "." + t.String()
}

func newEntry[A any, S service.Service](ctor func(A) (S, error)) *entry {
	st := reflect.TypeFor[S]()
	decode := func(data []byte) (A, error) {
		var a A
		if len(bytes.TrimSpace(data)) == 0 {
			data = []byte("{}")
		}
		// Errors name the JSON field and the rule in words.
		return a, service.Decode(data, &a)
	}
	return &entry{
		key:      typeKey(st),
		typ:      st,
		argsType: reflect.TypeFor[A](),
		construct: func(data []byte) (service.Service, error) {
			a, err := decode(data)
			if err != nil {
				return nil, err
			}
			s, err := ctor(a)
			if err != nil {
				return nil, fmt.Errorf("construct: %w", err)
			}
			return s, nil
		},
		check: func(data []byte) error { _, err := decode(data); return err },
	}
}
