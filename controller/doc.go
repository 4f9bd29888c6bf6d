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
package controller
