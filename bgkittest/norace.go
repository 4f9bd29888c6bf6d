//go:build !race

package bgkittest

const raceEnabled = false
