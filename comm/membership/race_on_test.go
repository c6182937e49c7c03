//go:build race

package membership

// raceEnabled: the race detector slows every node several times over.
const raceEnabled = true
