package service

import (
	"context"
	"fmt"
	"runtime/debug"
)

// A method of one of the common shapes below is called without
// reflection: reflect.Value.Call (a layout lookup, argument and result
// slices, boxing the result) cost more than decoding and encoding a
// scalar. The steps and messages are call's own.

// fastCall runs one call of a method; see [server.call].
type fastCall func(s *server, ep *endpoint, ctx context.Context, data []byte) (out []byte, code int, msg string)

// fastCallOf returns fn (a method value) as a fastCall, or nil when its
// shape has no fast path.
func fastCallOf(fn any) fastCall {
	for _, try := range fastShapes {
		if f := try(fn); f != nil {
			return f
		}
	}
	return nil
}

var fastShapes = []func(any) fastCall{
	fastInOut[int, int], fastInOut[int, string], fastInOut[int, bool],
	fastInOut[string, int], fastInOut[string, string], fastInOut[string, bool],
	fastInOut[bool, int], fastInOut[bool, string], fastInOut[bool, bool],
	fastIn[int], fastIn[string], fastIn[bool],
	fastOut[int], fastOut[string], fastOut[bool],
	fastNone,
}

func fastInOut[I, O any](fn any) fastCall {
	f, ok := fn.(func(context.Context, I) (O, error))
	if !ok {
		return nil
	}
	return func(s *server, ep *endpoint, ctx context.Context, data []byte) ([]byte, int, string) {
		var in I
		if code, msg := fastDecode(ep, data, &in); code != 0 {
			return nil, code, msg
		}
		var out O
		var err error
		if p := fastInvoke(func() { out, err = f(ctx, in) }); p != nil {
			return s.panicked(ep, p)
		}
		return fastResult(ctx, ep, out, err)
	}
}

func fastIn[I any](fn any) fastCall {
	f, ok := fn.(func(context.Context, I) error)
	if !ok {
		return nil
	}
	return func(s *server, ep *endpoint, ctx context.Context, data []byte) ([]byte, int, string) {
		var in I
		if code, msg := fastDecode(ep, data, &in); code != 0 {
			return nil, code, msg
		}
		var err error
		if p := fastInvoke(func() { err = f(ctx, in) }); p != nil {
			return s.panicked(ep, p)
		}
		if err != nil {
			code, msg := codeOfCall(ctx, err)
			return nil, code, msg
		}
		return nil, 0, ""
	}
}

func fastOut[O any](fn any) fastCall {
	f, ok := fn.(func(context.Context) (O, error))
	if !ok {
		return nil
	}
	return func(s *server, ep *endpoint, ctx context.Context, data []byte) ([]byte, int, string) {
		if code, msg := noArgument(ep, data); code != 0 {
			return nil, code, msg
		}
		var out O
		var err error
		if p := fastInvoke(func() { out, err = f(ctx) }); p != nil {
			return s.panicked(ep, p)
		}
		return fastResult(ctx, ep, out, err)
	}
}

func fastNone(fn any) fastCall {
	f, ok := fn.(func(context.Context) error)
	if !ok {
		return nil
	}
	return func(s *server, ep *endpoint, ctx context.Context, data []byte) ([]byte, int, string) {
		if code, msg := noArgument(ep, data); code != 0 {
			return nil, code, msg
		}
		var err error
		if p := fastInvoke(func() { err = f(ctx) }); p != nil {
			return s.panicked(ep, p)
		}
		if err != nil {
			code, msg := codeOfCall(ctx, err)
			return nil, code, msg
		}
		return nil, 0, ""
	}
}

// fastDecode decodes a scalar input as the reflection path does, with its
// messages (the fast path serves only inputs that are not structs).
func fastDecode(ep *endpoint, data []byte, in any) (int, string) {
	return decodeArgument(ep, data, in)
}

func fastResult[O any](ctx context.Context, ep *endpoint, out O, err error) ([]byte, int, string) {
	if err != nil {
		code, msg := codeOfCall(ctx, err)
		return nil, code, msg
	}
	data, err := EncodeJSON(out)
	if err != nil {
		return nil, CodeInternal, fmt.Sprintf("%s: encode result: %v", ep.Name, err)
	}
	return data, 0, ""
}

func fastInvoke(f func()) (p *panicValue) {
	defer func() {
		if r := recover(); r != nil {
			p = &panicValue{v: r, stack: stack()}
		}
	}()
	f()
	return nil
}

func (s *server) panicked(ep *endpoint, p *panicValue) ([]byte, int, string) {
	s.o.logger.Error("method panicked", "method", ep.Name, "panic", fmt.Sprint(p.v), "stack", p.stack)
	return nil, CodeInternal, fmt.Sprintf("%s panicked: %v", ep.Name, p.v)
}

func stack() string { return string(debug.Stack()) }
