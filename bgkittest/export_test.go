package bgkittest

// AwaitExit is awaitExit, for the leak test of package bgkittest_test.
var AwaitExit = awaitExit
