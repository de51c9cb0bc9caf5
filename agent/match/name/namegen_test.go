package name

import (
	"math/rand/v2"
	"testing"
)

func TestGenerateDeterministicAndVaried(t *testing.T) {
	a := Generate(rand.New(rand.NewPCG(1, 2)), 2000)
	b := Generate(rand.New(rand.NewPCG(1, 2)), 2000)
	if len(a) != 2000 {
		t.Fatalf("got %d entries", len(a))
	}
	people, scripts := 0, 0
	for i := range a {
		if a[i].Names[0] != b[i].Names[0] || a[i].ID != uint32(i+1) {
			t.Fatalf("entry %d differs between runs with the same seed", i)
		}
		if a[i].Kind == KindPerson {
			people++
		}
		for _, r := range a[i].Names[0] {
			if r > 0x2ff {
				scripts++
				break
			}
		}
	}
	if people < 1200 || people > 1600 || scripts < 100 {
		t.Errorf("people %d, non-Latin names %d: generator mix is off", people, scripts)
	}
	if testing.Verbose() {
		for _, e := range a[:30] {
			t.Log(e.Kind, e.Names, e.BirthDate, e.Nationalities, e.Sex)
		}
	}
}
