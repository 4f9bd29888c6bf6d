// Package deadline waits for absolute deadlines with sub-millisecond
// accuracy: timers and time.Sleep wake up to about a millisecond late, so
// a Waiter sleeps until SpinWindow before the deadline and yields in a loop
// for the last stretch. CAN pacing, ISO-TP STmin and the services' periodic
// schedules all wait this way.
package deadline
