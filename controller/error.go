package controller

import (
	"context"
	"fmt"

	"github.com/bgkit/bgkit/service"
)

// ServiceError is an error the service answered with (the NATS micro error
// headers). Match it with errors.As, or a code with errors.Is against
// ErrBadRequest, ErrUnknownMethod, ErrServiceFailed or ErrShuttingDown.
type ServiceError struct {
	Service string
	Method  string
	Code    int    // 400, 404, 500, 503, 504, or a code of the service's own
	Message string // Nats-Service-Error
}

func (e *ServiceError) Error() string {
	return fmt.Sprintf("call %s.%s: %d %s", e.Service, e.Method, e.Code, e.Message)
}

// Is matches sentinel ServiceErrors by code, and a 504 (the service ended
// the call or stream at the caller's deadline) matches
// context.DeadlineExceeded.
func (e *ServiceError) Is(target error) bool {
	if target == context.DeadlineExceeded {
		return e.Code == service.CodeDeadline
	}
	t, ok := target.(*ServiceError)
	return ok && t.Service == "" && t.Code == e.Code
}

// Sentinels for errors.Is, by code.
var (
	ErrBadRequest    = &ServiceError{Code: service.CodeBadRequest, Message: "bad request"}
	ErrUnknownMethod = &ServiceError{Code: service.CodeUnknownMethod, Message: "unknown method"}
	ErrServiceFailed = &ServiceError{Code: service.CodeInternal, Message: "service error"}
	ErrShuttingDown  = &ServiceError{Code: service.CodeUnavailable, Message: "shutting down"}
)
