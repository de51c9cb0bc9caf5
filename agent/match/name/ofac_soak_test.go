//go:build soak

package name

import "testing"

// TestOFACFull runs the OFAC evaluation over all 11,910 strong aliases
// (go test -tags soak -run OFACFull); it checks as TestOFAC does and logs
// the goals still open.
func TestOFACFull(t *testing.T) {
	f := evalOFAC(t, loadSDN(t), 1)
	logOFAC(t, f)
	checkOFAC(t, f)
}
