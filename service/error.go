package service

import (
	"context"
	"errors"
	"fmt"
)

// Error codes of the wire contract, sent in the Nats-Service-Error-Code header.
const (
	CodeBadRequest    = 400 // undecodable JSON, wrong type, failed validation
	CodeUnknownMethod = 404 // no such method; the message lists the known ones
	CodeInternal      = 500 // the method returned an error or panicked
	CodeUnavailable   = 503 // the service is shutting down
	CodeDeadline      = 504 // the caller's deadline (Bgkit-Timeout-Ms) passed: a call or stream cut short by it
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

// codeOfCall is codeOf for an error of a call or stream whose ctx is ctx:
// the method giving up because the caller's deadline passed (its error is
// context.DeadlineExceeded, and so is ctx's) is 504, not the method's own
// failure. The caller sees the deadline a moment after the service (the
// header carries whole milliseconds), so this is what it gets.
func codeOfCall(ctx context.Context, err error) (int, string) {
	if errors.Is(err, context.DeadlineExceeded) && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return CodeDeadline, err.Error()
	}
	return codeOf(err)
}

// deadlineEnd is the end reason of a stream that its caller's deadline cut
// short.
func deadlineEnd(name string) *Error {
	return &Error{Code: CodeDeadline, Message: name + ": the caller's deadline passed"}
}

// codeOf maps an error returned by a method to its wire code and message.
// An error whose message is empty (errors.New("")) is named by its type,
// so that the caller still reads something.
func codeOf(err error) (int, string) {
	code := CodeInternal
	var se *Error
	if errors.As(err, &se) && se.Code >= 400 && se.Code <= 599 {
		code = se.Code
	}
	msg := err.Error()
	if msg == "" {
		msg = fmt.Sprintf("an error with an empty message (%T)", err)
	}
	return code, msg
}
