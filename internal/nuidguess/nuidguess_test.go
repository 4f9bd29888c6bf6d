package nuidguess

import (
	"slices"
	"testing"

	"github.com/nats-io/nuid"
)

// The NUIDs drawn right before and after one are among its neighbours.
func TestNeighboursHoldTheNextAndThePrevious(t *testing.T) {
	n := nuid.New()
	var drawn []string
	for range 5 {
		drawn = append(drawn, n.Next())
	}
	guesses := Neighbours(drawn[2], 2)
	for i, d := range drawn {
		if i == 2 {
			if slices.Contains(guesses, d) {
				t.Errorf("the NUID itself is among its neighbours")
			}
			continue
		}
		if !slices.Contains(guesses, d) {
			t.Errorf("draw %d (%s) is not among the neighbours of draw 2 (%s)", i, d, drawn[2])
		}
	}
	if Neighbours("short", 1) != nil || Neighbours("!!!!!!!!!!!!!!!!!!!!!!", 1) != nil {
		t.Error("a non-NUID has neighbours")
	}
}

func TestInSubject(t *testing.T) {
	for _, c := range []struct{ subject, prefix, want string }{
		{"_INBOX.0123456789ABCDEFGHIJKL.1", "_INBOX", "0123456789ABCDEFGHIJKL"},
		{"_INBOX.0123456789ABCDEFGHIJKL", "_INBOX", "0123456789ABCDEFGHIJKL"},
		{"_INBOX.bgkit_X.0123456789ABCDEFGHIJKL.7", "_INBOX.bgkit_X", "0123456789ABCDEFGHIJKL"},
		{"_INBOX.short.1", "_INBOX", ""},
		{"log.X", "_INBOX", ""},
	} {
		if got := InSubject(c.subject, c.prefix); got != c.want {
			t.Errorf("InSubject(%q, %q) = %q, want %q", c.subject, c.prefix, got, c.want)
		}
	}
}
