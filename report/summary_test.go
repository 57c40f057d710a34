package report

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/seqclf/seqclf/embed"
	"github.com/seqclf/seqclf/lstm"
)

func TestWriteSummary(t *testing.T) {
	m, err := lstm.New[float32](lstm.Config{InputDim: 100, NumUnits: 128, NumLayers: 2, Classes: 2}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	table, err := embed.New(20000, 100, 0.1, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := WriteSummary(&b, m, table); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	t.Log("\n" + out)
	for _, want := range []string{
		"embedding", "2,000,000",
		"W (100+128)×512, b 512", "4·128·(128+100)+4·128", "117,248",
		"W (128+128)×512", "131,584",
		"W 128×2, b 2", "258",
		"2,249,090", // 2,000,000 + 117,248 + 131,584 + 258
		"pooling last",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	if got := commas(1234567); got != "1,234,567" {
		t.Errorf("commas(1234567) = %q", got)
	}
	if got := commas(999); got != "999" {
		t.Errorf("commas(999) = %q", got)
	}
}
