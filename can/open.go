package can

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Kinds of bus that Open knows.
const (
	KindVirtual   = "virtual"   // a virtual bus over NATS: "virtual:bus0"
	KindSocketCAN = "socketcan" // a Linux SocketCAN interface: "socketcan:can0"
)

// ErrInvalidSpec is wrapped by the errors of ParseSpec.
var ErrInvalidSpec = errors.New("invalid bus spec")

// ErrNATSRequired is returned when a virtual bus is opened without a NATS
// connection (see WithNATS).
var ErrNATSRequired = errors.New("a virtual bus needs a NATS connection (use can.WithNATS)")

// Spec names a bus: a kind and a name, written "kind:name".
type Spec struct {
	Kind string // KindVirtual or KindSocketCAN
	Name string // bus name or interface name
}

// String returns the spec as "kind:name".
func (s Spec) String() string { return s.Kind + ":" + s.Name }

// maxIfaceName is the longest Linux interface name (IFNAMSIZ - 1).
const maxIfaceName = 15

// ParseSpec parses a bus spec: "virtual:<bus>" (bus is a NATS subject token,
// see ValidateBusName) or "socketcan:<interface>" (a Linux interface name of
// at most 15 bytes). Errors wrap ErrInvalidSpec.
func ParseSpec(spec string) (Spec, error) {
	kind, name, ok := strings.Cut(spec, ":")
	switch {
	case spec == "":
		return Spec{}, fmt.Errorf("can: %w: empty (want virtual:<bus> or socketcan:<interface>)", ErrInvalidSpec)
	case !ok:
		return Spec{}, fmt.Errorf("can: %w %q: missing ':' (want virtual:<bus> or socketcan:<interface>)", ErrInvalidSpec, spec)
	case name == "":
		return Spec{}, fmt.Errorf("can: %w %q: missing name after ':'", ErrInvalidSpec, spec)
	}
	switch kind {
	case KindVirtual:
		if err := ValidateBusName(name); err != nil {
			return Spec{}, fmt.Errorf("can: %w %q: %w", ErrInvalidSpec, spec, err)
		}
	case KindSocketCAN:
		if err := validateIfaceName(name); err != nil {
			return Spec{}, fmt.Errorf("can: %w %q: %w", ErrInvalidSpec, spec, err)
		}
	default:
		return Spec{}, fmt.Errorf("can: %w %q: unknown kind %q (want %s or %s)", ErrInvalidSpec, spec, kind, KindVirtual, KindSocketCAN)
	}
	return Spec{Kind: kind, Name: name}, nil
}

// validateIfaceName checks a Linux network interface name.
func validateIfaceName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty interface name", ErrInvalidName)
	}
	if len(name) > maxIfaceName {
		return fmt.Errorf("%w: interface name %q is longer than %d bytes", ErrInvalidName, name, maxIfaceName)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7F || c == '/' || c == ':' {
			return fmt.Errorf("%w: interface name %q: character %q is not allowed", ErrInvalidName, name, c)
		}
	}
	return nil
}

// Open opens the bus named by spec (see ParseSpec):
//
//	b, err := can.Open(ctx, "virtual:bus0", can.WithNATS(nc))
//	b, err := can.Open(ctx, "socketcan:can0", can.WithFilters(f))
//
// A virtual bus needs WithNATS (else ErrNATSRequired). The result is a
// *Virtual or a *SocketCAN.
func Open(ctx context.Context, spec string, opts ...Option) (Bus, error) {
	s, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	switch s.Kind {
	case KindVirtual:
		o := buildOptions(opts)
		if o.nc == nil {
			return nil, fmt.Errorf("can: open %s: %w", spec, ErrNATSRequired)
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("can: open %s: %w", spec, err)
		}
		v, err := NewVirtual(o.nc, s.Name, opts...)
		if err != nil {
			return nil, err
		}
		return v, nil
	default: // KindSocketCAN
		c, err := DialSocketCAN(ctx, s.Name, opts...)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}
