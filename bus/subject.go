package bus

import (
	"errors"
	"fmt"
)

// Subject prefixes of the wire contract.
const (
	ServicePrefix = "svc."
	LogPrefix     = "log."
	CANPrefix     = "can."
)

// ErrBadName is wrapped by ValidateName's errors.
var ErrBadName = errors.New("bad name")

// ServiceSubject is the subject of one method of a service: svc.NAME.method.
func ServiceSubject(name, method string) string { return ServicePrefix + name + "." + method }

// ServiceWildcard matches every method of a service: svc.NAME.>.
func ServiceWildcard(name string) string { return ServicePrefix + name + ".>" }

// LogSubject is where a service publishes its log records: log.NAME.
func LogSubject(name string) string { return LogPrefix + name }

// CANSubject is the subject of a virtual CAN bus: can.BUS.
func CANSubject(bus string) string { return CANPrefix + bus }

// ValidateName checks that name can be one subject token: 1–64 characters
// from A–Z, a–z, 0–9, '_' and '-'.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", ErrBadName)
	}
	if len(name) > 64 {
		return fmt.Errorf("%w: %q is longer than 64 characters", ErrBadName, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("%w: %q has %q at %d (allowed: letters, digits, _ and -)", ErrBadName, name, c, i)
		}
	}
	return nil
}
