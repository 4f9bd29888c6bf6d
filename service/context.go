package service

import (
	"context"

	"github.com/bgkit/bgkit/bus"
)

type ctxKey int

const (
	busKey ctxKey = iota
	nameKey
	emitterKey
)

// BusFrom returns the bus the service is served on, from the ctx given to
// Initialize, Shutdown or a method. Services use it to open virtual CAN
// buses (can.WithNATS(b.Conn())) or call other services; they never dial
// NATS themselves.
func BusFrom(ctx context.Context) (*bus.Bus, bool) {
	b, ok := ctx.Value(busKey).(*bus.Bus)
	return b, ok
}

// NameFrom returns the name the service is served under.
func NameFrom(ctx context.Context) string {
	s, _ := ctx.Value(nameKey).(string)
	return s
}

func withService(ctx context.Context, b *bus.Bus, name string) context.Context {
	ctx = context.WithValue(context.WithValue(ctx, busKey, b), nameKey, name)
	return context.WithValue(ctx, emitterKey, newEmitter())
}
