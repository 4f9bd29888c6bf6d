package service

import (
	"context"
	"errors"
	"testing"
	"time"
)

type callCtxKey struct{}

func TestCallCtx(t *testing.T) {
	parent := context.WithValue(context.Background(), callCtxKey{}, "v")
	tests := []struct {
		name string
		run  func(t *testing.T, c *callCtx)
	}{
		{"deadline and value without a timer", func(t *testing.T, c *callCtx) {
			if dl, ok := c.Deadline(); !ok || time.Until(dl) > time.Hour || time.Until(dl) < 50*time.Minute {
				t.Fatalf("Deadline = %v, %v", dl, ok)
			}
			if c.Value(callCtxKey{}) != "v" {
				t.Fatal("value of the parent lost")
			}
			if c.ctx != nil {
				t.Fatal("timer made without Done or Err")
			}
			c.end()
			if !errors.Is(c.Err(), context.Canceled) {
				t.Fatalf("Err after end = %v", c.Err())
			}
			select {
			case <-c.Done():
			default:
				t.Fatal("not done after end")
			}
			if c.Value(callCtxKey{}) != "v" {
				t.Fatal("value of the parent lost after end")
			}
		}},
		{"derived ctx ends with the call", func(t *testing.T, c *callCtx) {
			d, cancel := context.WithCancel(c)
			defer cancel()
			if d.Err() != nil {
				t.Fatal(d.Err())
			}
			c.end()
			select {
			case <-d.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("derived ctx not canceled by end")
			}
		}},
		{"derived after end is done", func(t *testing.T, c *callCtx) {
			c.end()
			d, cancel := context.WithTimeout(c, time.Hour)
			defer cancel()
			if !errors.Is(d.Err(), context.Canceled) {
				t.Fatalf("Err = %v", d.Err())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newCallCtx(parent, time.Hour)) })
	}
	t.Run("deadline expires", func(t *testing.T) {
		c := newCallCtx(parent, 20*time.Millisecond)
		defer c.end()
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("not done after the deadline")
		}
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err = %v", c.Err())
		}
	})
	t.Run("parent canceled", func(t *testing.T) {
		p, cancel := context.WithCancel(parent)
		c := newCallCtx(p, time.Hour)
		defer c.end()
		done := c.Done()
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("not done after the parent")
		}
	})
}
