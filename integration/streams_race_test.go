//go:build race

package integration

// streamsRace: the race detector multiplies memory (shadow memory).
const streamsRace = true
