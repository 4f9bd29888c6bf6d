//go:build !race

package integration

const streamsRace = false
