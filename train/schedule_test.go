package train

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/seqclf/seqclf/feed"
	"github.com/seqclf/seqclf/lstm"
)

// TestScheduleMatchesTorch checks the rates of 20 steps at peak 0.01 against PyTorch 1.13, whose
// rates these are (an SGD optimizer's lr before each of its steps, the scheduler stepped after):
//
//	CosineAnnealingLR(opt, T_max=20) and, after 4 warm-up steps, T_max=16
//	OneCycleLR(opt, max_lr=0.01, total_steps=20) and with pct_start=8/20 for 8 warm-up steps
//	OneCycleLR(opt, max_lr=0.01, total_steps=3)
func TestScheduleMatchesTorch(t *testing.T) {
	cosine := []float64{0.01, 0.009938441702975689, 0.009755282581475769, 0.00945503262094184, 0.009045084971874739,
		0.008535533905932738, 0.007938926261462366, 0.007269952498697735, 0.006545084971874738, 0.005782172325201155,
		0.005, 0.004217827674798847, 0.0034549150281252636, 0.0027300475013022664, 0.0020610737385376348,
		0.0014644660940672626, 0.0009549150281252633, 0.0005449673790581611, 0.00024471741852423234, 6.15582970243117e-05}
	// The first four: warm-up by hand, 0.01·(s+1)/4.
	cosineWarm := []float64{0.0025, 0.005, 0.0075, 0.01,
		0.01, 0.009903926402016152, 0.009619397662556433, 0.009157348061512726, 0.008535533905932736, 0.00777785116509801,
		0.006913417161825448, 0.005975451610080641, 0.004999999999999999, 0.004024548389919358, 0.003086582838174551,
		0.00222214883490199, 0.0014644660940672626, 0.0008426519384872733, 0.0003806023374435663, 9.607359798384785e-05}
	oneCycle := []float64{0.0003999999999999993, 0.0013167184270002508, 0.003716718427000252, 0.006683281572999748,
		0.009083281572999747, 0.01, 0.009874640062350875, 0.009504846320134737, 0.0089091617757105, 0.008117456539497631,
		0.007169430017913008, 0.0061126202193628925, 0.00500002, 0.003887419780637108, 0.0028306099820869924,
		0.00188258346050237, 0.0010908782242895004, 0.0004951936798652628, 0.00012539993764912555, 4e-08}
	oneCycleWarm := []float64{0.0003999999999999993, 0.0008753494340683881, 0.0022072489510780785, 0.004131899517009691,
		0.006268100482990309, 0.00819275104892192, 0.009524650565931611, 0.01, 0.009829629812928816, 0.00933012969841412,
		0.008535539763797114, 0.00750001, 0.006294110049131702, 0.00500002, 0.0037059299508682983, 0.0025000300000000016,
		0.0014645002362028865, 0.0006699103015858822, 0.00017041018707118479, 4e-08}
	for _, c := range []struct {
		s    Schedule
		want []float64
	}{
		{Schedule{Kind: Cosine, LR: 0.01}, cosine},
		{Schedule{Kind: Cosine, LR: 0.01, WarmupSteps: 4}, cosineWarm},
		{Schedule{Kind: OneCycle, LR: 0.01}, oneCycle},
		{Schedule{Kind: OneCycle, LR: 0.01, WarmupSteps: 8}, oneCycleWarm},
		{Schedule{Kind: OneCycle, LR: 0.01}, []float64{0.009944154354509118, 0.00462637102666975, 4e-08}},
	} {
		for step, want := range c.want {
			if got := c.s.Rate(step, len(c.want)); math.Abs(got-want) > 1e-12 {
				t.Errorf("%v warm-up %d, step %d of %d: rate %.17g, torch %.17g", c.s.Kind, c.s.WarmupSteps, step, len(c.want), got, want)
			}
		}
	}
}

// TestScheduleByHand checks the constant schedule and the edges: warm-up 0.001·(s+1)/3, a
// one-step rise, and steps past the end.
func TestScheduleByHand(t *testing.T) {
	s := Schedule{Kind: Constant, LR: 0.001, WarmupSteps: 3}
	for step, want := range []float64{0.001 / 3, 0.002 / 3, 0.001, 0.001, 0.001} {
		if got := s.Rate(step, 5); math.Abs(got-want) > 1e-18 {
			t.Errorf("constant, 3 warm-up steps: step %d rate %g, want %g", step, got, want)
		}
	}
	if got := (&Schedule{Kind: Constant, LR: 0.1}).Rate(7, 10); got != 0.1 {
		t.Errorf("constant: %g, want 0.1", got)
	}
	// One rising step: the peak at once (torch divides by zero there).
	if got := (&Schedule{Kind: OneCycle, LR: 0.1, WarmupSteps: 1}).Rate(0, 10); got != 0.1 {
		t.Errorf("onecycle, 1 warm-up step: step 0 rate %g, want the peak 0.1", got)
	}
	// Past the end, the last step's rate: cosine ½(1+cos(π·9/10))·0.1, onecycle 0.1/25/10⁴.
	if got, want := (&Schedule{Kind: Cosine, LR: 0.1}).Rate(12, 10), 0.05*(1+math.Cos(0.9*math.Pi)); math.Abs(got-want) > 1e-15 {
		t.Errorf("cosine past the end: %g, want %g", got, want)
	}
	if got := (&Schedule{Kind: OneCycle, LR: 0.1}).Rate(12, 10); math.Abs(got-4e-7) > 1e-20 {
		t.Errorf("onecycle past the end: %g, want 4e-7", got)
	}
	for _, name := range []string{"constant", "cosine", "onecycle"} {
		if k, err := ParseSchedule(name); err != nil || k.String() != name {
			t.Errorf("ParseSchedule(%q) = %v, %v", name, k, err)
		}
	}
	if _, err := ParseSchedule("step"); err == nil {
		t.Error("ParseSchedule(step) did not fail")
	}
}

// TestScheduleSetsRates trains with a cosine schedule: the optimizer and the embedding table
// (Adam, and SGD's plain rate) must end an epoch at the rate of its last step, which the
// epoch reports, and the weights must differ from a run at the constant peak.
func TestScheduleSetsRates(t *testing.T) {
	samples := orderSamples(rand.New(rand.NewPCG(1, 2)), 100) // 7 steps of 16
	for _, sgd := range []bool{false, true} {
		st, tr := newTextState(t, sgd, false)
		peak := 0.01
		if sgd {
			peak = 0.05
		}
		tr.Schedule = &Schedule{Kind: Cosine, LR: peak, WarmupSteps: 2, Epochs: 2}
		res, err := tr.Epoch(context.Background(), samples, Position{Epoch: 0}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := peak * (1 + math.Cos(math.Pi*4/12)) / 2 // step 6 of 14, 4 after the warm-up of 2
		emb := tr.Features.(*feed.Embeddings)
		got := []float64{res.LearningRate, rateOf(tr.Opt), float64(emb.LR)}
		if emb.Adam != nil {
			got = append(got, emb.Adam.LR)
		}
		for _, g := range got {
			if math.Abs(g-want) > 1e-7*want { // the table's SGD rate is a float32
				t.Errorf("sgd=%v: rates %v after epoch 1, want %g", sgd, got, want)
				break
			}
		}
		flat, ftr := newTextState(t, sgd, false)
		if _, err := ftr.Epoch(context.Background(), samples, Position{Epoch: 0}, nil); err != nil {
			t.Fatal(err)
		}
		if slices.Equal(weights(st.model)[0], weights(flat.model)[0]) {
			t.Errorf("sgd=%v: the schedule changed no weight", sgd)
		}
	}
	// An optimizer whose rate the schedule cannot set is an error, not a silent constant.
	_, tr := newTextState(t, false, false)
	tr.Opt = otherOptimizer{}
	tr.Schedule = &Schedule{Kind: Cosine, LR: 0.01, Epochs: 1}
	if _, err := tr.Epoch(context.Background(), samples, Position{}, nil); err == nil {
		t.Errorf("a schedule on %T trained", tr.Opt)
	}
}

type otherOptimizer struct{}

func (otherOptimizer) Step([]*lstm.Param[float32]) {}
