package deadline_test

import (
	"context"
	"fmt"
	"time"

	"github.com/bgkit/bgkit/internal/deadline"
)

// Pace three events 500 µs apart from absolute deadlines, so that errors
// in waking up never add up.
func ExampleWaiter() {
	var w deadline.Waiter
	defer w.Stop()
	start := time.Now()
	for k := 1; k <= 3; k++ {
		due := start.Add(time.Duration(k) * 500 * time.Microsecond)
		if err := w.Until(context.Background(), due, nil); err != nil {
			panic(err)
		}
		fmt.Println(k, !time.Now().Before(due))
	}
	// Output:
	// 1 true
	// 2 true
	// 3 true
}
