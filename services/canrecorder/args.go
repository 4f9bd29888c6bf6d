package canrecorder

import (
	"fmt"
	"strings"

	"github.com/bgkit/bgkit/can"
	"github.com/bgkit/bgkit/hexid"
	"github.com/bgkit/bgkit/service"
)

// config is Args with the defaults applied and the filters parsed.
type config struct {
	args    Args
	filters []can.Filter
}

// maxInterface bounds the interface column: a log line of a 64-byte CAN
// FD frame with it stays well within what can.ReadLog and canplayer read.
const maxInterface = 255

// normalize applies the defaults and checks args, in one step: the
// validate tags, the bus, the filters and the interface name. Every
// error names the JSON field.
func (args Args) normalize() (config, error) {
	if err := service.Validate(&args); err != nil {
		return config{}, fmt.Errorf("can-recorder: %w", err)
	}
	if args.Bus == "" {
		args.Bus = DefaultBus
	}
	spec, err := can.ParseSpec(args.Bus)
	if err != nil {
		return config{}, fmt.Errorf("can-recorder: bus: %w", err)
	}
	if args.Interface == "" {
		args.Interface = spec.Name
	}
	if strings.ContainsAny(args.Interface, " \t\r\n") {
		return config{}, fmt.Errorf("can-recorder: interface %q: white space is not allowed", args.Interface)
	}
	if i := strings.IndexFunc(args.Interface, func(r rune) bool { return r < 0x20 || r == 0x7f }); i >= 0 {
		return config{}, fmt.Errorf("can-recorder: interface %q: a control character at byte %d is not allowed", args.Interface, i)
	}
	if len(args.Interface) > maxInterface {
		return config{}, fmt.Errorf("can-recorder: interface: %d bytes, at most %d (each log line carries it)", len(args.Interface), maxInterface)
	}
	if args.Autostart == nil {
		args.Autostart = new(true)
	}
	filters, err := parseFilters(args.Filters, args.IDs)
	if err != nil {
		return config{}, fmt.Errorf("can-recorder: %w", err)
	}
	return config{args: args, filters: filters}, nil
}

// parseFilters turns candump filters and plain IDs into acceptance
// filters; an ID matches exactly, as a standard frame when it fits in 11
// bits and as an extended one in any case.
func parseFilters(texts []string, ids []hexid.ID) ([]can.Filter, error) {
	var out []can.Filter
	for i, txt := range texts {
		flt, err := ParseFilter(txt)
		if err != nil {
			return nil, fmt.Errorf("filters[%d]: %w", i, err)
		}
		out = append(out, flt)
	}
	for i, id := range ids {
		if id > 0x1FFFFFFF {
			return nil, fmt.Errorf("ids[%d]: %v is not a CAN identifier (at most 0x1FFFFFFF)", i, id)
		}
		if id <= 0x7FF {
			out = append(out, can.Filter{ID: uint32(id), Mask: 0x7FF | can.EFFFlag})
		}
		out = append(out, can.Filter{ID: uint32(id) | can.EFFFlag, Mask: 0x1FFFFFFF | can.EFFFlag})
	}
	return out, nil
}
