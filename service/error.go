package service

import (
	"errors"
	"fmt"
)

// Error codes of the wire contract, sent in the Nats-Service-Error-Code header.
const (
	CodeBadRequest    = 400 // undecodable JSON, wrong type, failed validation
	CodeUnknownMethod = 404 // no such method; the message lists the known ones
	CodeInternal      = 500 // the method returned an error or panicked
	CodeUnavailable   = 503 // the service is shutting down
)

// Error is an error with a wire code. A method that returns an *Error (or
// wraps one) answers with its code; any other error answers 500.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code int, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// BadRequest marks err as the caller's fault (400).
func BadRequest(err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: CodeBadRequest, Message: err.Error()}
}

// codeOf maps an error returned by a method to its wire code and message.
func codeOf(err error) (int, string) {
	var se *Error
	if errors.As(err, &se) && se.Code >= 400 && se.Code <= 599 {
		return se.Code, err.Error()
	}
	return CodeInternal, err.Error()
}
