package lstm

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// glorotUniform fills the rows×cols block of w that starts at off, with row stride ld, with
// draws from U(-l, l), l = √(6/(rows+cols)).
func glorotUniform[T Float](w []T, off, ld, rows, cols int, rng *rand.Rand) {
	l := math.Sqrt(6 / float64(rows+cols))
	for r := range rows {
		row := w[off+r*ld : off+r*ld+cols]
		for j := range row {
			row[j] = T((2*rng.Float64() - 1) * l)
		}
	}
}

// orthogonal fills the n×n block of w that starts at off, with row stride ld, with a random
// orthogonal matrix: the Q of the QR decomposition of a standard normal matrix, its columns'
// signs fixed by R's diagonal so that Q is uniformly distributed (Saxe et al., 2014).
func orthogonal[T Float](w []T, off, ld, n int, rng *rand.Rand) {
	a := mat.NewDense(n, n, nil)
	for r := range n {
		for c := range n {
			a.Set(r, c, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(a)
	var q, rr mat.Dense
	qr.QTo(&q)
	qr.RTo(&rr)
	for r := range n {
		row := w[off+r*ld : off+r*ld+n]
		for c := range n {
			v := q.At(r, c)
			if rr.At(c, c) < 0 {
				v = -v
			}
			row[c] = T(v)
		}
	}
}
