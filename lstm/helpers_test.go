package lstm

import "math/rand/v2"

// testRNG returns the seeded source the tests draw from.
func testRNG() *rand.Rand { return rand.New(rand.NewPCG(42, 42)) }
