//go:build race

package bgkittest

// raceEnabled reports whether this binary was built with -race.
const raceEnabled = true
