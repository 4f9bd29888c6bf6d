package ecusim

import "github.com/bgkit/bgkit/service"

// invalidArgs builds, in args_test.go, the argument error New returns
// (service.InvalidArgs) from the error it wraps.
type invalidArgs struct{ error }

func (e invalidArgs) Error() string { return service.InvalidArgs(e.error).Error() }
