package controller_test

import (
	"errors"
	"testing"

	"go.uber.org/goleak"

	"github.com/bgkit/bgkit/controller"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestServiceErrorIs(t *testing.T) {
	err := error(&controller.ServiceError{Service: "X", Method: "m", Code: 503, Message: "X is shutting down"})
	if !errors.Is(err, controller.ErrShuttingDown) || errors.Is(err, controller.ErrBadRequest) {
		t.Fatal("Is does not match by code")
	}
	if got := err.Error(); got != "call X.m: 503 X is shutting down" {
		t.Fatalf("Error() = %q", got)
	}
}
