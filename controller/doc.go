// Package controller calls bgkit services by name, from any process on the
// same bus.
//
// # Calls
//
// [Connect] checks that a service answers and returns a [Controller];
// [Controller.Call] sends the JSON of its input to svc.<NAME>.<method> and
// decodes the JSON reply:
//
//	c, err := controller.Connect(ctx, b, "COUNTER_SERVICE")
//	var v int
//	err = c.Call(ctx, "add", 5, &v)
//
// A typed controller embeds *Controller and wraps Call, as the original's
// controllers wrapped `root`:
//
//	type CounterController struct{ *controller.Controller }
//	func (c CounterController) Add(ctx context.Context, n int) (int, error) {
//		var v int
//		return v, c.Call(ctx, "add", n, &v)
//	}
//
// # Errors
//
// A service's error answer is a [*ServiceError] with the code of the wire
// contract (400 bad input, 404 unknown method, 500 method error or panic,
// 503 shutting down); match it with errors.As or with errors.Is against
// [ErrBadRequest], [ErrUnknownMethod], [ErrServiceFailed], [ErrShuttingDown].
// A name nobody serves fails at once with [ErrNoService]. A call whose ctx
// has no deadline gets [DefaultTimeout]; when the caller's ctx has a
// deadline, the service's method sees it in its own ctx.
//
// # Events
//
// [Controller.Subscribe] calls a function for every event the service
// emits (service.Emit) on a topic, or on every topic for "":
//
//	sub, err := c.Subscribe(ctx, "session_changed", func(e controller.Event) {
//		var sc SessionChange
//		_ = e.Decode(&sc) // e.Service, e.Topic, e.Time, e.Data
//	})
//	defer sub.Stop()
//
// Events of one instance arrive in the order it emitted them, one at a
// time. A callback that cannot keep up never slows the service: up to
// [EventBuffer] events and [EventBufferBytes] of them wait, later ones are
// dropped, and the next event delivered carries in [Event].Missed how many
// of its topic were lost (from the per-topic sequence numbers in the
// Bgkit-Event-Seq header).
//
// # Streams
//
// A streaming method (one returning an iter.Seq2, see package service) is
// read with [Controller.Stream] or [StreamOf]:
//
//	for f, err := range controller.StreamOf[can.Frame](ctx, c, "tail", filter) {
//		if err != nil { … } // the service's error, ctx's, or ErrServiceExited
//	}
//
// The controller keeps two pulls of 1000 items outstanding, so the service
// produces only as fast as the loop reads; leaving the loop or ctx ending
// sends "stop" and the method's ctx ends at once. While the loop body is
// busy the controller sends a keepalive every 500 ms; a caller that dies
// goes silent and the service ends its stream after [StreamIdle] (3 s). A
// service that exits ends the iteration with ErrServiceExited (see Fail
// fast); one that vanishes without an exit event ends it with
// [ErrStreamLost].
//
// # Fail fast
//
// A controller follows life.<NAME>, where the parent (or agent) of each
// instance announces its exit. When an instance exits, calls and streams
// in flight fail at once with an [*ExitedError] naming the exit status,
// which matches [ErrServiceExited] — instead of waiting for their deadline.
//
// An exit event is believed only if the server confirms it: the controller
// pings $SRV.PING.<NAME> (every 25 ms, at most 2 s, while the server drops
// the dead connection) until it answers "no responders". So a forged event
// fails nothing while the service lives, and only the parent's word plus
// the server's agree to fail calls.
//
// Several instances may share one name (a queue group: spawn refuses it,
// but agents on several machines or service.Run by hand allow it). NATS
// does not tell the caller which instance took a request, so when one of
// them exits and another still answers the ping, calls in flight are left
// alone: those at the dead instance end at their deadline, those at a live
// one are answered. Calls are not re-sent, since methods need not be
// idempotent. Calls in flight fail fast only when the last instance of the
// name is gone, which is the case for every service spawn runs.
package controller
