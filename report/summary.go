package report

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/lstm"
)

// WriteSummary writes each layer of the model with its shapes and parameter count, the LSTM
// layers' count spelled out with the seed's formula 4·num_units·(num_units+input)+4·num_units.
// table is the model's embedding table, nil for a row-token model.
func WriteSummary(w io.Writer, m *lstm.Model[float32], table *embed.Table) error {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	total := 0
	row := func(name, shape, formula string, n int) {
		total += n
		fmt.Fprintf(tw, "%s\t%s\t%s\t%12s\n", name, shape, formula, commas(n))
	}
	fmt.Fprintf(tw, "layer\tshapes\tcount\t%12s\n", "parameters")
	if table != nil {
		rows, dim := table.Rows(), table.Dim()
		row("embedding", fmt.Sprintf("%d×%d", rows, dim), fmt.Sprintf("%d·%d", rows, dim), rows*dim)
	}
	layer := func(name string, l *lstm.Layer[float32]) {
		h, in := l.NumUnits, l.InputDim
		if l.Cell == lstm.CellGRU {
			row(name, fmt.Sprintf("W (%d+%d)×3·%d, b 4·%d", in, h, h, h), fmt.Sprintf("3·%d·(%d+%d)+4·%d", h, h, in, h), l.NumParams())
			return
		}
		row(name, fmt.Sprintf("W (%d+%d)×%d, b %d", in, h, 4*h, 4*h), fmt.Sprintf("4·%d·(%d+%d)+4·%d", h, h, in, h), l.NumParams())
	}
	for i, l := range m.Layers {
		layer(fmt.Sprintf("%v.%d", l.Cell, i), l)
		if m.Reverse != nil {
			layer(fmt.Sprintf("%v.%d.reverse", l.Cell, i), m.Reverse[i])
		}
	}
	e, c := m.Config.OutputDim(), m.Config.Classes
	if m.AttnW != nil {
		a := m.AttnB.Cols
		row("attention", fmt.Sprintf("W %d×%d, b %d, v %d", e, a, a, a), fmt.Sprintf("%d·%d+2·%d", e, a, a), e*a+2*a)
	}
	row("head", fmt.Sprintf("W %d×%d, b %d", e, c, c), fmt.Sprintf("%d·%d+%d", e, c, c), e*c+c)
	fmt.Fprintf(tw, "total\t\t\t%12s\n", commas(total))
	if err := tw.Flush(); err != nil {
		return err
	}
	dirs := ""
	if m.Config.Bidirectional {
		dirs = ", bidirectional"
	}
	_, err := fmt.Fprintf(w, "cell %v%s, pooling %v, dropout %g between layers\n", m.Config.Cell, dirs, m.Config.Pooling, m.Config.Dropout)
	return err
}

// commas formats n with thousands separators: 1234567 → 1,234,567.
func commas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
