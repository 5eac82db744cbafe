//go:build race

package sim

// raceFactor stretches wall-clock limits under the race detector.
const raceFactor = 10
