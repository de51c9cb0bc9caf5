package watchlist

import "testing"

func TestDressGivesEveryKindOfAction(t *testing.T) {
	list := NewGenerator(7, DefaultMix).Alerts(2000)
	plain := NewGenerator(7, DefaultMix).Alerts(2000)
	Dress(list, 7)
	kinds := map[string]bool{}
	warned, vehicles := 0, 0
	for i, a := range list {
		if a.ID != plain[i].ID || a.Subject.Kind != plain[i].Subject.Kind {
			t.Fatalf("alert %d changed identity: %s/%s", i, a.ID, plain[i].ID)
		}
		kinds[a.Category[:min(5, len(a.Category))]] = true
		if len(a.Warnings) > 0 {
			warned++
		}
		if v := a.Subject.Vehicle; v != nil {
			vehicles++
			if v.Make == "" || v.Model == "" || v.Plate != plain[i].Subject.Vehicle.Plate {
				t.Fatalf("vehicle %+v", v)
			}
		}
		if a.Action == "" || a.LegalBasis == "" || a.Authority == "" {
			t.Fatalf("alert %s lacks an action, legal basis or authority", a.ID)
		}
	}
	for _, k := range []string{"art26", "art24", "art38", "art36", "art34", "art32", "custo"} {
		if !kinds[k] {
			t.Errorf("no %s alert in 2000", k)
		}
	}
	if warned < 100 || vehicles == 0 {
		t.Errorf("%d alerts with warnings, %d vehicles", warned, vehicles)
	}
}
