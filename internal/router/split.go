package router

import (
	"crypto/sha256"
	"encoding/binary"
)

// Pick returns the target of the split that unit lands on.
//
// A unit's position is a hash of the route name and the unit, uniform in
// [0, 1) and the same on every replica; the targets own consecutive
// intervals of that range, the first (the incumbent) at the bottom and the
// last at the top. So a unit keeps its target while the weights stay the
// same, and in a two-target split, raising the challenger's weight moves
// units only from the incumbent to the challenger. (With more targets,
// raising one challenger's weight also shifts the intervals below it.)
func (rt *Route) Pick(unit string) Target {
	if len(rt.Targets) == 1 {
		return rt.Targets[0]
	}
	x := position(rt.Name, unit)
	acc := 1.0
	for i := len(rt.Targets) - 1; i > 0; i-- {
		acc -= rt.Weights[i]
		if x >= acc {
			return rt.Targets[i]
		}
	}
	return rt.Targets[0]
}

// position maps a unit to [0, 1). SHA-256 rather than a seeded hash: it
// must agree across processes and releases.
func position(route, unit string) float64 {
	h := sha256.New()
	h.Write([]byte(route))
	h.Write([]byte{0})
	h.Write([]byte(unit))
	var sum [sha256.Size]byte
	v := binary.BigEndian.Uint64(h.Sum(sum[:0]))
	return float64(v>>11) / float64(1<<53) // 53 bits: exact in a float64
}
