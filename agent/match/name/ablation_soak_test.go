//go:build soak

package name

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestRuleAblation runs the protocol with each rule switched off in turn
// (NAME_ABLATION_RULES: only the rules it names, comma-separated)
// and prints the README's ablation table. It takes a few minutes, so it
// is built only with the soak tag, like the full OFAC evaluation:
//
//	go test -tags soak -count=1 -timeout 30m -run TestRuleAblation -v ./agent/match/name
func TestRuleAblation(t *testing.T) {
	lists, cases := loadEvalLists(t), loadCases(t)
	var b strings.Builder
	b.WriteString("\n| rule off | dev SDN in hits | dev false hits | cases.csv CV F1 | test non-SDN in hits | test BIS in hits | test false hits (non-SDN / BIS) |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
	row := func(label string, opts Options) {
		f, f1, _ := evalWith(t, lists, cases, 0, opts)
		fmt.Fprintf(&b, "| %s | %.4f | %.2f %% | %.3f | %.4f | %.4f | %.2f %% / %.2f %% |\n",
			label, f[0].hit, 100*f[0].falseHit, f1, f[1].hit, f[2].hit, 100*f[1].falseHit, 100*f[2].falseHit)
	}
	row("none (all rules on)", Options{})
	only := os.Getenv("NAME_ABLATION_RULES") // comma-separated rule names; empty: every rule
	for _, r := range AllRules() {
		if only != "" && !strings.Contains(","+only+",", ","+r.String()+",") {
			continue
		}
		row(r.String(), Options{Disable: RuleSet(0).With(r)})
	}
	t.Log(b.String())
}
