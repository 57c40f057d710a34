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
	for i, l := range m.Layers {
		h, in := l.NumUnits, l.InputDim
		row(fmt.Sprintf("lstm.%d", i),
			fmt.Sprintf("W (%d+%d)×%d, b %d", in, h, 4*h, 4*h),
			fmt.Sprintf("4·%d·(%d+%d)+4·%d", h, h, in, h),
			l.NumParams())
	}
	h, c := m.Config.NumUnits, m.Config.Classes
	row("head", fmt.Sprintf("W %d×%d, b %d", h, c, c), fmt.Sprintf("%d·%d+%d", h, c, c), h*c+c)
	fmt.Fprintf(tw, "total\t\t\t%12s\n", commas(total))
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "pooling %v, dropout %g between layers\n", m.Config.Pooling, m.Config.Dropout)
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
