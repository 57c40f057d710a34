package classify

import (
	"os/exec"
	"strings"
	"testing"
)

// TestInferencePathLinksNoConfigOrPlots lists what a program that opens a model and classifies
// links (this package and the store) and fails if it reaches the config, plotting or
// command-line libraries: those belong to training and the CLI.
func TestInferencePathLinksNoConfigOrPlots(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/seqclf/seqclf/classify", "github.com/seqclf/seqclf/store").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps gave %d packages: %q", len(deps), out)
	}
	for _, d := range deps {
		for _, banned := range []string{"github.com/spf13/viper", "gonum.org/v1/plot", "github.com/spf13/cobra",
			"github.com/seqclf/seqclf/pipeline", "github.com/seqclf/seqclf/report", "github.com/seqclf/seqclf/train"} {
			if d == banned || strings.HasPrefix(d, banned+"/") {
				t.Errorf("the inference path imports %s", d)
			}
		}
	}
}
